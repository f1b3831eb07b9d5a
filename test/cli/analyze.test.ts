import { assertUsageError as assertUsage, runCli } from '../support/cli.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analysisData, fixedBatch } from '../../src/analysis/analyze.ts';
import { fullHessian, hessianEigenvalues } from '../../src/analysis/hessian.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { writeModelWeights, writeSafetensors } from '../../src/runtime/checkpoint.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-analyze-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function cli(...args: string[]) {
  return runCli(['analyze', ...args, '--threads', '1']);
}

function assertUsageError(args: string[], pattern: RegExp) {
  assertUsage(cli(...args), ['analyze', ...args], pattern);
}

// func-shallow (571 parameters, float64) is small enough for the full Hessian; mnist-cnn needs float32.
const shallow = findModel('func-shallow');
const shallowWeights = join(scratch, 'func-shallow.safetensors');
const out = join(scratch, 'out');

before(() => {
  writeModelWeights(shallowWeights, shallow, initializeParameters(shallow, 1));
});

describe('hw1-onnx analyze hessian', () => {
  it('prints the report with --json, writes the same JSON file, and its λ_max is the full Hessian\'s largest eigenvalue', async () => {
    const { code, stdout, stderr } = cli('hessian', '--model', 'func-shallow', '--weights', shallowWeights, '--examples', '40', '--out', out, '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'analysis', 'func-shallow-hessian.json'), 'utf8')), report);
    for (const field of ['lambda_max', 'top_eigenvalues', 'trace', 'loss', 'examples', 'parameters', 'dtype']) assert.ok(field in report, `field ${field}`);
    assert.equal(report.examples, 40);
    assert.equal(report.parameters, 571);
    assert.equal(report.dtype, 'float64');
    assert.equal(report.top_eigenvalues.length, 5);

    // The same Hessian computed here, independently of the command.
    const data = analysisData(shallow, { examples: 40 });
    const full = await fullHessian(shallow, initializeParameters(shallow, 1), fixedBatch(data.train, 40));
    const eigenvalues = hessianEigenvalues(full.matrix);
    const exactMax = eigenvalues[eigenvalues.length - 1]!;
    assert.ok(Math.abs(report.lambda_max - exactMax) <= 1e-8 * Math.abs(exactMax), `λ_max ${report.lambda_max} vs exact ${exactMax}`);
    assert.ok(Math.abs(report.loss - full.loss) <= 1e-12 * full.loss);
    let trace = 0;
    for (let i = 0; i < full.parameterCount; i++) trace += full.matrix.get(i, i);
    assert.ok(Math.abs(report.full_spectrum.trace - trace) <= 1e-9 * Math.abs(trace));
    assert.equal(report.full_spectrum.eigenvalues.length, 571);
    assert.equal(typeof report.full_spectrum.minimal_ratio.ratio, 'number');
    // The spectral density integrates to 1, and its figure is written beside the JSON.
    const grid: number[] = report.spectral_density.eigenvalue;
    const integral = report.spectral_density.density.reduce((sum: number, d: number) => sum + d, 0) * (grid[1]! - grid[0]!);
    assert.ok(Math.abs(integral - 1) < 0.05, `density integrates to ${integral}`);
    assert.equal(readFileSync(join(out, 'analysis', 'func-shallow-hessian.png')).subarray(1, 4).toString(), 'PNG');
    // Hutchinson's estimate is within a few standard errors of the exact trace.
    assert.ok(Math.abs(report.trace - trace) <= 4 * report.trace_standard_error, `trace ${report.trace} ± ${report.trace_standard_error} vs ${trace}`);
  });

  it('reads the weights of a run folder written by train, and prints a summary without --json', () => {
    const train = spawnSync(process.execPath, ['bin/hw1-onnx.js', 'train', 'func-shallow', '--epochs', '1', '--limit-train', '50', '--limit-test', '20', '--out', scratch, '--run-id', 'fs', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(train.status, 0, train.stderr);
    const runFolder = join(scratch, 'runs', 'fs');
    const { code, stdout, stderr } = cli('hessian', '--model', 'func-shallow', '--weights', runFolder, '--examples', '20', '--out', out, '--full-limit', '0', '--trace-samples', '2', '--density-runs', '0');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /func-shallow hessian on 20 examples \(571 parameters\): loss .*lambda_max/);
    assert.match(stdout, /wrote .*func-shallow-hessian\.json/);
    const report = JSON.parse(readFileSync(join(out, 'analysis', 'func-shallow-hessian.json'), 'utf8'));
    assert.equal(report.full_spectrum, null);
    assert.match(report.full_spectrum_note, /571 parameters > --full-limit 0/);
  });

  it('picks float32 for a model with Conv layers and says why in dtype_reason', () => {
    const cnn = findModel('mnist-cnn');
    const weights = join(scratch, 'mnist-cnn.safetensors');
    writeModelWeights(weights, cnn, initializeParameters(cnn, 1));
    const { code, stdout, stderr } = cli('hessian', '--model', 'mnist-cnn', '--weights', weights, '--examples', '8', '--out', out, '--lanczos-steps', '4', '--trace-samples', '1', '--top-k', '1', '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.dtype, 'float32');
    assert.match(report.dtype_reason, /Conv2d conv1.*no float64 kernel/);
    assert.ok(Number.isFinite(report.lambda_max));
  });

  it('refuses weights whose shapes do not fit, naming the parameter and both shapes in one line', () => {
    const wrong = join(scratch, 'weights.safetensors');
    const tensors = new Map(shallow.parameters.map((p) => [p.name, { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }]));
    tensors.set('fc1.weight', { shape: [32, 1], data: new Float32Array(32) });
    writeSafetensors(wrong, tensors);
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', wrong, '--out', out], /^hw1-onnx: weights\.safetensors: fc1\.weight is \[32, 1\] in the file, the model func-shallow wants \[190, 1\]$/);
    tensors.delete('fc2.bias');
    writeSafetensors(wrong, tensors);
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', wrong, '--out', out], /fc1\.weight is \[32, 1\] in the file/);
  });

  it('refuses missing weights, a run folder without weights, and --data of another shape, each in one line', () => {
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', join(scratch, 'nope.safetensors')], /no weights at .*nope\.safetensors/);
    const emptyRun = join(scratch, 'runs', 'unfinished');
    mkdirSync(emptyRun, { recursive: true });
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', emptyRun], /run folder .*unfinished has no weights\.safetensors/);
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', shallowWeights, '--data', 'mnist'], /--data mnist gives classification examples of shape \[1, 28, 28\].*func-shallow is a regression model/);
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', shallowWeights, '--data', 'imagenet'], /unknown --data "imagenet"/);
    assertUsageError(['hessian', '--model', 'func-shallow', '--weights', shallowWeights, '--examples', '0'], /--examples must be a whole number of at least 1/);
    assertUsageError(['hessian', '--model', 'func-shalow', '--weights', shallowWeights], /unknown model "func-shalow"/);
  });
});

describe('hw1-onnx analyze sharpness', () => {
  it('gives the HW1 formula from λ_max and the loss, and a direct ε-ball maximum inside the ball', () => {
    const { code, stdout, stderr } = cli('sharpness', '--model', 'func-shallow', '--weights', shallowWeights, '--examples', '40', '--data', 'function:sinc', '--epsilon', '1e-3,1e-2', '--ascent-steps', '5', '--out', out, '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.hw1_formula.length, 2);
    for (const row of report.hw1_formula) {
      const expected = (report.lambda_max * row.epsilon ** 2) / (2 * (1 + report.loss));
      assert.ok(Math.abs(row.sharpness - expected) <= 1e-12 * expected);
    }
    assert.ok(report.lambda_max_block_diagonal <= report.lambda_max * (1 + 1e-6), 'a block\'s top eigenvalue is at most λ_max');
    assert.equal(report.direct_maximum.length, 2);
    for (const row of report.direct_maximum) {
      assert.ok(row.rise > 0, `rise ${row.rise}`);
      assert.ok(row.radius_used <= 1 + 1e-9);
      assert.ok(Math.abs(row.sharpness - row.rise / (1 + report.loss)) <= 1e-12);
    }
    assert.ok(report.gradient_norm > 0);
  });
});

describe('hw1-onnx analyze sensitivity', () => {
  it('measures both definitions on a classifier and refuses a regression model in one line', () => {
    const small = findModel('mnist-dnn-small');
    const weights = join(scratch, 'mnist-dnn-small.safetensors');
    writeModelWeights(weights, small, initializeParameters(small, 1));
    const { code, stdout, stderr } = cli('sensitivity', '--model', 'mnist-dnn-small', '--weights', weights, '--examples', '30', '--out', out, '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.examples, 30);
    assert.ok(report.loss_gradient_norm > 0 && report.jacobian_norm > 0);
    assert.ok(report.accuracy >= 0 && report.accuracy <= 1);
    assertUsageError(['sensitivity', '--model', 'func-shallow', '--weights', shallowWeights, '--out', out], /sensitivity needs a classifier.*func-shallow is a regression model/);
  });
});

describe('hw1-onnx analyze interpolate', () => {
  it('gives the loss on the α grid between two weight files, where α = 0 is the loss at --weights, and a PNG', () => {
    const second = join(scratch, 'func-shallow-2.safetensors');
    writeModelWeights(second, shallow, initializeParameters(shallow, 2));
    const { code, stdout, stderr } = cli('interpolate', '--model', 'func-shallow', '--weights', shallowWeights, '--to', second, '--examples', '40', '--alphas', '-0.5:1.5:5', '--out', out, '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(report.alpha, [-0.5, 0, 0.5, 1, 1.5]);
    assert.equal(report.train_loss.length, 5);
    assert.equal(report.test_loss.length, 5);
    assert.match(stderr, /func-shallow-interpolate\.png/);
    assert.ok(readFileSync(join(out, 'analysis', 'func-shallow-interpolate.png')).subarray(1, 4).toString() === 'PNG');
    // α = 0 is --weights itself: the Hessian report's loss on the same examples (float64 both).
    const hessian = JSON.parse(cli('hessian', '--model', 'func-shallow', '--weights', shallowWeights, '--examples', '40', '--out', join(scratch, 'h'), '--full-limit', '0', '--trace-samples', '1', '--lanczos-steps', '2', '--json').stdout);
    assert.ok(Math.abs(report.train_loss[1] - hessian.loss) <= 1e-12 * hessian.loss, `${report.train_loss[1]} vs ${hessian.loss}`);
    assertUsageError(['interpolate', '--model', 'func-shallow', '--weights', shallowWeights, '--out', out], /interpolate needs the second weights: --to/);
    assertUsageError(['interpolate', '--model', 'func-shallow', '--weights', shallowWeights, '--to', second, '--alphas', '1:0:5', '--out', out], /--alphas must be FROM:TO:COUNT/);
  });
});

describe('hw1-onnx analyze landscape', () => {
  it('evaluates a 2-D filter-normalized grid whose center is the loss at the weights, draws it, and takes another data set of the same shape', () => {
    const { code, stdout, stderr } = cli('landscape', '--model', 'func-shallow', '--weights', shallowWeights, '--examples', '40', '--dims', '2', '--points', '5', '--range', '0.5', '--out', out, '--json');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(report.alpha, [-0.5, -0.25, 0, 0.25, 0.5]);
    assert.equal(report.train_loss_grid.length, 5);
    assert.equal(report.train_loss_grid[2][2], report.loss);
    assert.ok(readFileSync(join(out, 'analysis', 'func-shallow-landscape.png')).subarray(1, 4).toString() === 'PNG');
    // --data swaps in another data set of the same shape: the regression model on sign(sin(5πx)) instead of sinc.
    const onSign = cli('landscape', '--model', 'func-shallow', '--weights', shallowWeights, '--data', 'function:sign', '--examples', '40', '--points', '3', '--out', join(scratch, 'sign'), '--json');
    assert.equal(onSign.code, 0, onSign.stderr);
    const signReport = JSON.parse(onSign.stdout);
    assert.match(signReport.data, /function sign/);
    assert.equal(signReport.train_loss.length, 3);
    assert.notEqual(signReport.loss, report.loss);
    assertUsageError(['landscape', '--model', 'func-shallow', '--weights', shallowWeights, '--dims', '3', '--out', out], /--dims must be 1 \(a line\) or 2 \(a plane\), got 3/);
  });
});
