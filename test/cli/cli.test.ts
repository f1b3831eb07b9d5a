import { assertUsageError as assertUsage, runCli } from '../support/cli.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunMetrics } from '../../runners/train.ts';
import { readSafetensors } from '../../src/runtime/checkpoint.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  return runCli(args);
}

function assertUsageError(args: string[], pattern: RegExp) {
  assertUsage(cli(...args), args, pattern);
}

describe('hw1-onnx CLI', () => {
  it('rejects bad input with one line and exit code 2', () => {
    assertUsageError(['train', 'mnist-dn'], /unknown model "mnist-dn".*mnist-dnn/);
    assertUsageError(['train', 'mnist-dnn', '--epochs', '0'], /--epochs must be a whole number of at least 1/);
    assertUsageError(['train', 'mnist-dnn', '--batch', '0'], /--batch/);
    assertUsageError(['train', 'mnist-dnn', '--optimizer', 'lbfgs'], /unknown optimizer "lbfgs".*sgd, adam/);
    assertUsageError(['train', 'mnist-dnn', '--ep', 'tpu'], /unknown execution provider "tpu"/);
    assertUsageError(['train', 'mnist-dnn', '--lr', '-1'], /--lr must be a positive number/);
    assertUsageError(['train', 'mnist-dnn', '--bogus-flag'], /unknown option --bogus-flag \(see hw1-onnx train --help\)/);
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

  it('fits every option\'s description on its line in --help, so no word is broken across lines', () => {
    for (const command of ['build', 'train', 'run', 'report', 'data', 'doctor', 'setup']) {
      const { stdout } = cli(command, '--help');
      // A continuation line starts deep in the description column with text rather than a [type] hint.
      const broken = stdout.split('\n').filter((line) => /^ {12,}[^ [\s]/.test(line));
      assert.deepEqual(broken, [], `hw1-onnx ${command} --help`);
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
    assert.match(stdout, /(ok|missing|corrupt) +CIFAR-10/);
  });
});

describe('the everyday path (flags, interruptions, data)', () => {
  it('refuses a flag without its value, a flag given twice, and a non-number, quoting what was typed', () => {
    assertUsageError(['train', 'mnist-dnn', '--lr', '--epochs', '1'], /^hw1-onnx: --lr needs a value \(see hw1-onnx train --help\)$/);
    assertUsageError(['train', 'mnist-dnn', '--out'], /--out needs a value/);
    assertUsageError(['build', 'models', '--model'], /--model needs a value/);
    assertUsageError(['run', '1-1', '--seed'], /--seed needs a value/);
    assertUsageError(['train', 'mnist-dnn', '--epochs', '1', '--epochs', '2'], /--epochs is given 2 times \("1" and "2"\); give it once/);
    assertUsageError(['train', 'mnist-dnn', '--epochs', 'abc'], /--epochs must be a whole number of at least 1, got "abc"/);
  });

  it('suggests the flag a misspelling meant, and names a missing argument in its own words', () => {
    assertUsageError(['train', 'mnist-dnn', '--epoch', '3'], /unknown option --epoch \(did you mean --epochs\?\) \(see hw1-onnx train --help\)/);
    assertUsageError(['run', '1-1', '--profil', 'full'], /did you mean --profile\?/);
    assertUsageError(['train'], /^hw1-onnx: name the model to train: hw1-onnx train <model>/);
    assertUsageError([], /^hw1-onnx: name a command \(see hw1-onnx --help\)$/);
  });

  it('run takes --data-dir, as its CIFAR-10 messages say', () => {
    // The flag is known: the error is about the experiment name, not an unknown argument.
    assertUsageError(['run', 'nope', '--data-dir', scratch], /unknown experiment "nope"/);
  });

  it('refuses float64 graphs of models onnxruntime cannot run in float64, and leaves them out of a float64 build of all', () => {
    assertUsageError(['build', 'models', '--dtype', 'float64', '--model', 'mnist-cnn'], /mnist-cnn \(Conv2d conv1, Conv2d conv2\) cannot run in float64.*--dtype float32/);
    const out = join(scratch, 'float64');
    const { code, stdout } = cli('build', 'models', '--dtype', 'float64', '--out', out);
    assert.equal(code, 0);
    assert.match(stdout, /mnist-cnn: skipped in float64/);
    assert.match(stdout, /func-deep: \d+ graphs/);
    assert.ok(!existsSync(join(out, 'mnist-cnn')) && existsSync(join(out, 'func-deep', 'manifest.json')));
  });

  it('says in one line, exit 0, that CIFAR-10 is not here', () => {
    const elsewhere = mkdtempSync(join(scratch, 'nowhere-'));
    const env = { ...process.env };
    delete env.HW1_DATA_DIR;
    const result = spawnSync(process.execPath, [join(process.cwd(), 'bin/hw1-onnx.js'), 'data', 'info', 'cifar10'], { encoding: 'utf8', cwd: elsewhere, env });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 1);
    assert.match(result.stdout, /^CIFAR-10: not here \(looked in HW1_DATA_DIR \(not set\), .*hw1-onnx data fetch cifar10/);
    assert.doesNotMatch(result.stdout, /not found/);
  });

  it('refuses to overwrite an earlier run of the same --run-id unless --force', () => {
    const args = ['train', 'mnist-dnn-small', '--epochs', '1', '--limit-train', '200', '--limit-test', '100', '--out', scratch, '--run-id', 'twice'];
    assert.equal(cli(...args).code, 0);
    assertUsageError(args, /run folder .*twice exists already; choose another --run-id, or pass --force/);
    assert.equal(cli(...args, '--force').code, 0);
  });

  it('on Ctrl-C keeps the finished epochs and their weights, says so in one line, and exits 130', async () => {
    const out = join(scratch, 'interrupted');
    const child = spawn(process.execPath, ['bin/hw1-onnx.js', 'train', 'mnist-dnn-small', '--epochs', '1000', '--limit-train', '1000', '--limit-test', '100', '--out', out, '--run-id', 'r'], {
      cwd: process.cwd(),
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const metricsPath = join(out, 'runs', 'r', 'metrics.json');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait for two finished epochs, then interrupt.
    for (let i = 0; i < 600; i++) {
      if (existsSync(metricsPath) && JSON.parse(readFileSync(metricsPath, 'utf8')).epochs.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^hw1-onnx: interrupted \(SIGINT (during|after) epoch \d+\/1000: kept \d+ finished epochs and their weights\) in .* with status "interrupted"/);
    const metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as RunMetrics;
    assert.equal(metrics.status, 'interrupted');
    assert.ok(metrics.epochs.length >= 2);
    const { tensors, metadata } = readSafetensors(join(out, 'runs', 'r', 'weights.safetensors'));
    assert.equal(metadata.epochs, String(metrics.epochs.length), 'the weights are those of the last finished epoch');
    assert.equal(tensors.size, 6);
    assert.ok(existsSync(join(out, 'runs', 'r', 'curves.png')));
  });
});

function cudaPresent(): boolean {
  return spawnSync('nvidia-smi', ['-L']).status === 0;
}
