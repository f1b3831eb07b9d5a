import { assertUsageError as assertUsage, runCli } from '../support/cli.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensors } from '../../src/runtime/checkpoint.ts';

// `hw1-onnx import` through the CLI, into a temporary models folder
// (HW1_MODELS_DIR), then `build models` and `train` on the imported model.

const scratch = mkdtempSync(join(tmpdir(), 'hw1-import-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const modelsDir = join(scratch, 'models');
const fixture = (file: string) => join('test', 'fixtures', file);
const reference = JSON.parse(readFileSync(fixture('import-reference.json'), 'utf8')) as { models: { cnn: { names: string[]; shapes: number[][] } } };

function cli(...args: string[]) {
  return runCli(args, { HW1_MODELS_DIR: modelsDir });
}

function assertUsageError(args: string[], pattern: RegExp) {
  assertUsage(cli(...args), args, pattern);
}

describe('hw1-onnx import', () => {
  it('writes models/imported/<name>.onnx and .json; build models and train then find the model', () => {
    const imported = cli('import', fixture('import-cnn.onnx'), '--name', 'torch-cnn');
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported torch-cnn: 3,226 parameters \(0\.weight \[4, 1, 3, 3\], 0\.bias \[4\],.*input \[1, 28, 28\], output \[10\], classification on mnist/);
    assert.deepEqual(readdirSync(join(modelsDir, 'imported')).sort(), ['torch-cnn.json', 'torch-cnn.onnx']);
    assert.deepEqual(readFileSync(join(modelsDir, 'imported', 'torch-cnn.onnx')), readFileSync(fixture('import-cnn.onnx')));
    const record = JSON.parse(readFileSync(join(modelsDir, 'imported', 'torch-cnn.json'), 'utf8'));
    assert.equal(record.task, 'classification');
    assert.equal(record.dataset, 'mnist');
    assert.deepEqual(record.inputShape, [1, 28, 28]);
    assert.match(record.sha256, /^[0-9a-f]{64}$/);

    assertUsageError(['import', fixture('import-cnn.onnx'), '--name', 'torch-cnn'], /imported model "torch-cnn" exists already .*pass --force to replace it/);
    assert.equal(cli('import', fixture('import-cnn.onnx'), '--name', 'torch-cnn', '--force').code, 0);
    assertUsageError(['import', fixture('import-mlp.onnx'), '--name', 'mnist-dnn'], /"mnist-dnn" is a model of models\/ already; choose another --name/);

    const list = cli('build', 'models', '--list');
    assert.match(list.stdout, /^torch-cnn\s+3,226 params\s+imported from import-cnn\.onnx/m);
    const built = cli('build', 'models', '--model', 'torch-cnn', '--out', join(scratch, 'graphs'));
    assert.equal(built.code, 0, built.stderr);
    assert.ok(existsSync(join(scratch, 'graphs', 'torch-cnn', 'hessian.onnx')));

    const trained = cli('train', 'torch-cnn', '--epochs', '1', '--limit-train', '64', '--limit-test', '32', '--batch', '32', '--out', join(scratch, 'out'), '--run-id', 'cnn');
    assert.equal(trained.code, 0, trained.stderr);
    // The weights load back into the nn.Sequential the file came from: its state_dict's names and shapes
    // (generate_import_reference.py --check-weights cnn FILE loads them there).
    const { tensors } = readSafetensors(join(scratch, 'out', 'runs', 'cnn', 'weights.safetensors'));
    assert.deepEqual([...tensors.keys()], reference.models.cnn.names);
    assert.deepEqual([...tensors.values()].map((t) => t.shape), reference.models.cnn.shapes);
  });

  it('refuses an op without a gradient rule, a missing file and a bad --input-shape in one line, exit code 2', () => {
    assertUsageError(['import', fixture('import-leaky-relu.onnx')], /^hw1-onnx: import import-leaky-relu\.onnx: node "\/1\/LeakyRelu" \(LeakyRelu\): hw1-onnx has no gradient rule for LeakyRelu; use nn\.ReLU/);
    assertUsageError(['import', join(scratch, 'missing.onnx')], /cannot read .*missing\.onnx \(ENOENT\)/);
    assertUsageError(['import', fixture('import-mlp.onnx'), '--input-shape', '1,28,x'], /--input-shape must be positive whole numbers separated by commas/);
    assertUsageError(['import', fixture('import-mlp.onnx'), '--name', 'Bad_Name'], /model name "Bad_Name" must be lower-case letters, digits and dashes/);
    assert.ok(!existsSync(join(modelsDir, 'imported', 'import-leaky-relu.json')));
  });
});
