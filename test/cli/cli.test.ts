import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/hw1-onnx.js', ...args], { encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

function assertUsageError(args: string[], pattern: RegExp) {
  const { code, stderr } = cli(...args);
  assert.equal(code, 2, `exit code of hw1-onnx ${args.join(' ')} (stderr: ${stderr})`);
  assert.equal(stderr.split('\n').length, 1, `one line: ${stderr}`);
  assert.match(stderr, pattern);
}

describe('hw1-onnx CLI', () => {
  it('rejects bad input with one line and exit code 2', () => {
    assertUsageError(['train', 'mnist-dn'], /unknown model "mnist-dn".*mnist-dnn/);
    assertUsageError(['train', 'mnist-dnn', '--epochs', '0'], /--epochs must be a whole number of at least 1/);
    assertUsageError(['train', 'mnist-dnn', '--batch', '0'], /--batch/);
    assertUsageError(['train', 'mnist-dnn', '--optimizer', 'lbfgs'], /unknown optimizer "lbfgs".*sgd, adam/);
    assertUsageError(['train', 'mnist-dnn', '--ep', 'tpu'], /unknown execution provider "tpu"/);
    assertUsageError(['train', 'mnist-dnn', '--lr', '-1'], /--lr must be a positive number/);
    assertUsageError(['train', 'mnist-dnn', '--bogus-flag'], /Unknown argument/);
    assertUsageError(['frobnicate'], /Unknown argument|Unknown command/i);
    assertUsageError(['build', 'models', '--model', 'nope'], /unknown model "nope"/);
    assertUsageError(['train', 'mnist-dnn', '--data-dir', join(scratch, 'missing'), '--epochs', '1'], /missing MNIST file/);
    assertUsageError(['build', 'models', '--dtype', 'float16'], /Argument: dtype, Given: "float16", Choices: "float32", "float64"/);
    assertUsageError(['train', 'mnist-dnn', '--out', '/dev/null/x'], /cannot write into --out \/dev\/null\/x/);
    assertUsageError(['build', 'models', '--out', '/dev/null/x'], /cannot write into --out/);
    assertUsageError(['train', 'mnist-dnn', '--out', ''], /--out must name a folder/);
    assertUsageError(['train', 'mnist-dnn', '--run-id', '..'], /--run-id "\.\." must start with a letter or digit/);
    assertUsageError(['report', '--out', join(scratch, 'no-results')], /no experiment results in/);
  });

  it('asks for CUDA and fails in one line, without falling back, where there is none', { skip: cudaPresent() ? 'this machine has CUDA' : false }, () => {
    assertUsageError(['train', 'mnist-dnn-small', '--ep', 'cuda', '--limit-train', '64', '--epochs', '1', '--out', scratch], /execution provider "cuda" is not available.*hw1-onnx setup cuda/);
  });

  it('has --help on every command', () => {
    for (const command of [[], ['build'], ['train'], ['doctor'], ['setup'], ['data']]) {
      const { code, stdout } = cli(...command, '--help');
      assert.equal(code, 0, command.join(' '));
      assert.match(stdout, /hw1-onnx/);
    }
  });

  it('builds the graphs of a model into --out', () => {
    const { code, stdout } = cli('build', 'models', '--model', 'func-shallow', '--out', scratch);
    assert.equal(code, 0);
    assert.match(stdout, /func-shallow: 10 graphs/);
    const manifest = JSON.parse(readFileSync(join(scratch, 'func-shallow', 'manifest.json'), 'utf8'));
    assert.equal(manifest.parameterCount, 571);
  });

  it('trains and prints per-epoch metrics', () => {
    const { code, stdout } = cli('train', 'mnist-dnn-small', '--epochs', '1', '--limit-train', '500', '--limit-test', '200', '--out', scratch, '--run-id', 'cli-run');
    assert.equal(code, 0);
    assert.match(stdout, /epoch 1\/1: train loss \d+\.\d+ acc \d+\.\d+% \| test loss \d+\.\d+ acc \d+\.\d+%/);
    assert.ok(existsSync(join(scratch, 'runs', 'cli-run', 'metrics.json')));
  });

  it('doctor reports the CPU provider as working', () => {
    const { code, stdout } = cli('doctor');
    assert.equal(code, 0);
    assert.match(stdout, /ok\s+--ep cpu/);
    assert.match(stdout, /--ep cuda/);
  });
});

function cudaPresent(): boolean {
  return spawnSync('nvidia-smi', ['-L']).status === 0;
}
