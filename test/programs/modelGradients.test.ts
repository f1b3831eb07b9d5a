import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Value } from '../../src/ir/graph.ts';
import { dense, flatten, relu, sigmoid, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../../src/nn/model.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { lossOf } from '../../src/programs/modelInputs.ts';
import { gradientGraph } from '../../src/programs/programs.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';
import { awayFromZero, checkGradients } from '../support/gradcheck.ts';

// Whole models, loss included: first derivatives (the gradient graph) and
// second derivatives (grad of grad: Hessian-vector products) against finite
// differences in float64.

const classifier = resolveModel(
  sequential('tiny-classifier', { description: 'test', task: 'classification', inputShape: [2, 3], dataset: 'mnist' }, [
    flatten(),
    dense(5),
    tanh(),
    dense(4),
    relu(),
    dense(4),
    sigmoid(),
    dense(3),
  ]),
);
const regressor = resolveModel(
  sequential('tiny-regressor', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [
    dense(6),
    relu(),
    dense(5),
    tanh(),
    dense(2),
  ]),
);

function lossBuilder(model: Model, batch: number, seed: number) {
  const random = new Random(seed);
  const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  const xData = Array.from({ length: batch * inputSize }, () => random.uniform(-1, 1));
  const labels = Array.from({ length: batch }, () => random.integer(model.outputShape[0]!));
  const targets = Array.from({ length: batch * model.outputShape[0]! }, () => random.uniform(-1, 1));
  return (...parameters: Value[]) => {
    const graph = parameters[0]!.graph;
    const x = graph.constant('float64', [batch, ...model.inputShape], xData);
    const target =
      model.task === 'classification' ? graph.constant('int64', [batch], labels) : graph.constant('float64', [batch, ...model.outputShape], targets);
    const values = new Map(model.parameters.map((p, i) => [p.name, parameters[i]!]));
    return lossOf(model, model.forward(x, values), target, 'mean');
  };
}

// Weights drawn away from zero keep ReLU pre-activations off their kink for a
// finite-difference step of 1e-5.
const specs = (model: Model) => model.parameters.map((p) => ({ shape: [...p.shape], sample: awayFromZero }));

describe('model gradients match finite differences (float64)', () => {
  for (const seed of [1, 2, 3]) {
    it(`classifier with cross-entropy, first order (seed ${seed})`, async () => {
      await checkGradients(lossBuilder(classifier, 7, seed), specs(classifier), { seed });
    });
    it(`classifier with cross-entropy, Hessian-vector product (seed ${seed})`, async () => {
      await checkGradients(lossBuilder(classifier, 7, seed), specs(classifier), { seed, order: 2 });
    });
    it(`regressor with MSE, first order (seed ${seed})`, async () => {
      await checkGradients(lossBuilder(regressor, 9, seed), specs(regressor), { seed });
    });
    it(`regressor with MSE, Hessian-vector product (seed ${seed})`, async () => {
      await checkGradients(lossBuilder(regressor, 9, seed), specs(regressor), { seed, order: 2 });
    });
  }
});

describe('the emitted gradient program', () => {
  it('gives d loss / d parameters of func-deep that match finite differences of its own loss output', async () => {
    const model = findModel('func-deep');
    const session = await createSession(serializeGraph(gradientGraph(model, 'float64')), { threads: 1 });
    const random = new Random(11);
    const weights = initializeParameters(model, 3, 'float64');
    const direction = new Map([...weights].map(([name, w]) => [name, Float64Array.from(w, () => random.uniform(-1, 1))]));
    const batch = 16;
    const x = Float64Array.from({ length: batch }, (_, i) => (i + 1) / batch);
    const target = Float64Array.from(x, (v) => Math.sin(5 * Math.PI * v) / (5 * Math.PI * v));
    const run = (offset: number) => {
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float64', x, [batch, 1]),
        target: new ort.Tensor('float64', target, [batch, 1]),
      };
      for (const p of model.parameters) {
        const w = weights.get(p.name)!;
        const v = direction.get(p.name)!;
        feeds[p.name] = new ort.Tensor('float64', Float64Array.from(w, (value, i) => value + offset * v[i]!), [...p.shape]);
      }
      return session.run(feeds);
    };
    const center = await run(0);
    let analytic = 0;
    for (const p of model.parameters) {
      const g = center[`grad.${p.name}`]!.data as Float64Array;
      direction.get(p.name)!.forEach((v, i) => (analytic += v * g[i]!));
    }
    const h = 1e-6;
    const numeric = (((await run(h)).loss!.data as Float64Array)[0]! - ((await run(-h)).loss!.data as Float64Array)[0]!) / (2 * h);
    assert.ok(Math.abs(analytic - numeric) / Math.abs(numeric) < 1e-6, `analytic ${analytic} vs numeric ${numeric}`);
  });
});
