import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { difference, filterNormalizedDirection, gridPoints, linspace, surfaceEvaluator } from '../../src/analysis/landscape.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { conv2d, dense, flatten, relu } from '../../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../../src/nn/model.ts';
import { findModel } from '../../src/nn/registry.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { evalGraph } from '../../src/programs/programs.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';

const norm = (values: ArrayLike<number>, from = 0, to = values.length) => {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
};

/** eval.onnx on the whole batch in one run: the model's own summed loss and correct count. */
async function evalOnce(model: Model, weights: ReadonlyMap<string, Float32Array>, x: Float32Array, labels: BigInt64Array) {
  const session = await createSession(serializeGraph(evalGraph(model)), { threads: 1 });
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x, [labels.length, ...model.inputShape]), target: new ort.Tensor('int64', labels, [labels.length]) };
  for (const p of model.parameters) feeds[p.name] = new ort.Tensor('float32', weights.get(p.name)!, [...p.shape]);
  const out = await session.run(feeds);
  await session.release();
  return { loss: (out.loss_sum!.data as Float32Array)[0]! / labels.length, correct: Number((out.correct!.data as BigInt64Array)[0]!) };
}

describe('filter-normalized directions', () => {
  it('give each dense row and conv filter the norm of the weights\' own, and biases none', () => {
    const cnn = resolveModel(
      sequential('dir-cnn', { description: 'test', task: 'classification', inputShape: [1, 8, 8], dataset: 'mnist' }, [conv2d(3, 3), relu(), flatten(), dense(5)]),
    );
    const weights = initializeParameters(cnn, 2, 'float64');
    const direction = filterNormalizedDirection(cnn, weights, new Random(3));
    for (const p of cnn.parameters) {
      const d = direction.get(p.name)!;
      const w = weights.get(p.name)!;
      if (p.shape.length === 1) {
        assert.ok(d.every((v) => v === 0), `${p.name}: no bias direction`);
        continue;
      }
      const width = w.length / p.shape[0]!;
      for (let f = 0; f < p.shape[0]!; f++) {
        const expected = norm(w, f * width, (f + 1) * width);
        assert.ok(Math.abs(norm(d, f * width, (f + 1) * width) - expected) < 1e-9 * expected, `${p.name} filter ${f}`);
      }
    }
    // Seeded: the same seed gives the same direction, another seed another.
    assert.deepEqual(filterNormalizedDirection(cnn, weights, new Random(3)), direction);
    assert.notDeepEqual(filterNormalizedDirection(cnn, weights, new Random(4)).get('conv1.weight'), direction.get('conv1.weight'));
  });
});

describe('surface.onnx', () => {
  const model = findModel('mnist-dnn-small');
  const data = loadMnist({ limitTrain: 500 }).train;
  const x = data.inputs.subarray(0, 500 * 784);
  const labels = BigInt64Array.from(data.labels.subarray(0, 500), BigInt);
  const center = initializeParameters(model, 5) as Map<string, Float32Array>;
  const d1 = filterNormalizedDirection(model, center, new Random(1));
  const d2 = filterNormalizedDirection(model, center, new Random(2));

  it('at (0, 0) is the model\'s own loss, exactly; a grid point is eval.onnx on the weights moved by hand', async () => {
    const surface = await surfaceEvaluator(model, center, d1, d2, { threads: 1, pointsPerCall: 7 });
    const xs = linspace(-1, 1, 5);
    const points = gridPoints(xs, xs);
    assert.equal(points.length, 25);
    const values = await surface.evaluate(points, { x, target: labels, count: 500 });
    assert.equal(surface.calls, 4, '25 points, 7 per call');
    await surface.release();
    const own = await evalOnce(model, center, x, labels);
    const centre = points.findIndex((p) => p.alpha === 0 && p.beta === 0);
    assert.equal(values.loss[centre], own.loss);
    assert.equal(values.accuracy![centre], own.correct / 500);
    // (alpha, beta) = (0.5, -1): the moved weights in float32, in the graph's order of operations.
    const index = points.findIndex((p) => p.alpha === 0.5 && p.beta === -1);
    const f = Math.fround;
    const moved = new Map(
      [...center].map(([name, c]) => [name, Float32Array.from(c, (v, j) => f(v + f(f(0.5 * f(d1.get(name)![j]!)) + f(-1 * f(d2.get(name)![j]!)))))]),
    );
    const byHand = await evalOnce(model, moved, x, labels);
    assert.ok(Math.abs(values.loss[index]! - byHand.loss) <= 1e-6 * byHand.loss, `${values.loss[index]} vs ${byHand.loss}`);
    assert.equal(values.accuracy![index], byHand.correct / 500);
    assert.ok(values.loss[index]! > own.loss, 'a step of the weights\' own size along random directions raises the loss at initialization too');
  });

  it('runs a line between two models (d2 absent): its ends are the two models\' losses', async () => {
    const other = initializeParameters(model, 6) as Map<string, Float32Array>;
    const line = await surfaceEvaluator(model, center, difference(model, center, other), undefined, { threads: 1 });
    const values = await line.evaluate(linspace(0, 1, 3).map((alpha) => ({ alpha, beta: 0 })), { x, target: labels, count: 500 });
    await line.release();
    assert.equal(values.loss[0], (await evalOnce(model, center, x, labels)).loss);
    const end = (await evalOnce(model, other, x, labels)).loss;
    assert.ok(Math.abs(values.loss[2]! - end) < 1e-5 * end, `${values.loss[2]} vs ${end}`);
  });
});
