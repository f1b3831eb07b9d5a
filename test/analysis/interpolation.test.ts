import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alphaGrid, interpolate, interpolationEvaluator, lossPeak, valueAt } from '../../src/analysis/interpolation.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { initializeParameters, type ParameterValues } from '../../src/nn/init.ts';
import { dense, flatten, relu } from '../../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../../src/nn/model.ts';
import { adam } from '../../src/optim/adam.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { Random } from '../../src/util/random.ts';

const model = resolveModel(
  sequential('interpolation-tiny', { description: 'test: 2x2 inputs, 5 hidden ReLU units, 3 classes', task: 'classification', inputShape: [2, 2], dataset: 'mnist' }, [
    flatten(),
    dense(5),
    relu(),
    dense(3),
  ]),
);

/** 150 random examples, labels of a random linear teacher (so the two models' accuracies differ). */
function randomSet(seed: number, count = 150): Dataset {
  const random = new Random(seed);
  const inputs = Float32Array.from(random.fillNormal(new Float64Array(count * 4)));
  const labels = Uint8Array.from({ length: count }, (_, n) => {
    const score = [0, 1, 2].map((c) => inputs[n * 4 + c]! - 0.5 * inputs[n * 4 + 3]! * c);
    return score.indexOf(Math.max(...score));
  });
  return { name: `random-${seed}`, count, inputShape: [2, 2], inputs, labels };
}

/** eval.onnx through the Trainer, chunk by chunk: the model's own loss and accuracy. */
async function ownEvaluation(m: Model, weights: ParameterValues, set: Dataset, chunkSize: number, dtype: 'float32' | 'float64' = 'float32') {
  const trainer = await Trainer.create(m, adam(), weights, { threads: 1, dtype });
  try {
    return await trainer.evaluate(set, chunkSize);
  } finally {
    await trainer.release();
  }
}

describe('interpolation between two models', () => {
  const set = randomSet(11);
  const theta1 = initializeParameters(model, 1);
  const theta2 = initializeParameters(model, 2);

  it('is each model\'s own loss and accuracy, exactly, at α = 0 and α = 1', async () => {
    for (const chunkSize of [64, 1000]) {
      const curve = await interpolate(model, theta1, theta2, [0, 0.5, 1], set, { threads: 1, chunkSize });
      const [own1, own2] = [await ownEvaluation(model, theta1, set, chunkSize), await ownEvaluation(model, theta2, set, chunkSize)];
      assert.notEqual(own1.loss, own2.loss, 'two different models');
      assert.equal(curve.loss[0], own1.loss, `α = 0, ${chunkSize} per call`);
      assert.equal(curve.accuracy![0], own1.accuracy);
      assert.equal(curve.loss[2], own2.loss, `α = 1, ${chunkSize} per call`);
      assert.equal(curve.accuracy![2], own2.accuracy);
      assert.equal(curve.examples, 150);
    }
  });

  it('is, in between and beyond, eval.onnx on the weights mixed by hand in float32', async () => {
    const alphas = [0.3, 1.7, -0.65];
    const curve = await interpolate(model, theta1, theta2, alphas, set, { threads: 1, chunkSize: 64 });
    const f = Math.fround;
    for (const [k, alpha] of alphas.entries()) {
      // The graph's order: center 0 + (fround(1 - α)·θ₁ + fround(α)·θ₂), each product and sum rounded to float32.
      const [a, b] = [f(1 - alpha), f(alpha)];
      const mixed: ParameterValues = new Map(
        [...theta1].map(([name, x]) => [name, Float32Array.from(x, (v, j) => f(f(a * v) + f(b * theta2.get(name)![j]!)))]),
      );
      const byHand = await ownEvaluation(model, mixed, set, 64);
      assert.ok(Math.abs(curve.loss[k]! - byHand.loss) <= 1e-6 * byHand.loss, `α = ${alpha}: ${curve.loss[k]} vs ${byHand.loss}`);
      assert.equal(curve.accuracy![k], byHand.accuracy, `α = ${alpha}: accuracy`);
    }
  });

  it('does not depend on the chunk size beyond float summation, and takes many α per call', async () => {
    const alphas = alphaGrid(-1, 2, 13);
    const small = await interpolationEvaluator(model, theta1, theta2, { threads: 1, chunkSize: 7, pointsPerCall: 5 });
    const bySeven = await small.evaluate(alphas, set);
    // 150 rows in chunks of 7 is 22 chunks; 13 α at 5 per call is 3 calls per chunk.
    assert.equal(small.calls, 22 * 3);
    await small.release();
    const large = await interpolationEvaluator(model, theta1, theta2, { threads: 1, chunkSize: 64 });
    const bySixtyFour = await large.evaluate(alphas, set);
    assert.equal(large.calls, 3, '3 chunks of at most 64 rows, all 13 α in one call each');
    assert.ok(large.calls < alphas.length);
    await large.release();
    for (const k of alphas.keys()) {
      assert.ok(Math.abs(bySeven.loss[k]! - bySixtyFour.loss[k]!) <= 1e-6 * bySixtyFour.loss[k]!, `α = ${alphas[k]}: ${bySeven.loss[k]} vs ${bySixtyFour.loss[k]}`);
      assert.equal(bySeven.accuracy![k], bySixtyFour.accuracy![k]);
    }
    // Far from both models the loss of random weights grows: the curve is not flat.
    assert.ok(valueAt(alphas, bySixtyFour.loss, 2) > valueAt(alphas, bySixtyFour.loss, 1));
  });

  it('evaluates several data sets with one session (train and test of a pair)', async () => {
    const other = randomSet(12, 40);
    const evaluator = await interpolationEvaluator(model, theta1, theta2, { threads: 1 });
    const first = await evaluator.evaluate([0, 1], set);
    const second = await evaluator.evaluate([0, 1], other);
    await evaluator.release();
    assert.equal(evaluator.calls, 2);
    assert.equal(first.loss[0], (await ownEvaluation(model, theta1, set, 10_000)).loss);
    assert.equal(second.loss[1], (await ownEvaluation(model, theta2, other, 10_000)).loss);
    assert.equal(second.examples, 40);
  });

  it('works in float64 too, with the end points exact', async () => {
    const [w1, w2] = [initializeParameters(model, 1, 'float64'), initializeParameters(model, 2, 'float64')];
    const curve = await interpolate(model, w1, w2, [0, 1], set, { threads: 1, dtype: 'float64', chunkSize: 64 });
    assert.equal(curve.loss[0], (await ownEvaluation(model, w1, set, 64, 'float64')).loss);
    assert.equal(curve.loss[1], (await ownEvaluation(model, w2, set, 64, 'float64')).loss);
  });

  it('refuses weights that do not fit the model, naming the parameter', async () => {
    const short = new Map(theta2);
    short.set('fc1.bias', new Float32Array(2));
    await assert.rejects(interpolationEvaluator(model, theta1, short), /θ₂ has no 5 values for parameter fc1\.bias/);
  });
});

describe('the α grid and the loss peak', () => {
  it('puts 0 and 1 exactly on a 0.05 grid from -1 to 2, and adds probes once', () => {
    const grid = alphaGrid(-1, 2, 61);
    assert.equal(grid.length, 61);
    assert.ok(grid.includes(0) && grid.includes(1) && grid.includes(-0.25) && grid.includes(1.25));
    assert.equal(grid[7], -0.65, 'rounded: no 0.35000000000000003');
    const coarse = alphaGrid(-1, 2, 7, [-0.25, 1.25, 0]);
    assert.deepEqual(coarse, [-1, -0.5, -0.25, 0, 0.5, 1, 1.25, 1.5, 2]);
  });

  it('finds the highest loss strictly between the models and its ratio to the larger end', () => {
    const alphas = [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5];
    const peak = lossPeak(alphas, [9, 0.2, 0.5, 0.9, 0.6, 0.3, 99]);
    assert.deepEqual(peak, { alpha: 0.5, loss: 0.9, ratio: 0.9 / 0.3 });
    // A loss falling monotonically from θ₁ to θ₂: no barrier, the ratio is below 1.
    const falling = lossPeak(alphas, [5, 0.8, 0.6, 0.4, 0.3, 0.1, 2])!;
    assert.equal(falling.alpha, 0.25);
    assert.ok(falling.ratio < 1);
    assert.equal(lossPeak([0, 1], [1, 2]), undefined, 'no α in (0, 1)');
    assert.throws(() => lossPeak([0, 0.5], [1, 2]), /α = 1 is not on the interpolation grid/);
  });
});
