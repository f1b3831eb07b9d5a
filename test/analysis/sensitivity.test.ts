import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inputSensitivity, sensitivityEvaluator, type SensitivityEvaluator } from '../../src/analysis/sensitivity.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { dense, flatten, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { Random } from '../../src/util/random.ts';

/** Smooth everywhere (tanh), so central differences of its loss and probabilities converge. */
const model = resolveModel(
  sequential('sensitivity-tiny', { description: 'test: 9-4-3 tanh classifier', task: 'classification', inputShape: [1, 3, 3], dataset: 'mnist' }, [flatten(), dense(4), tanh(), dense(3)]),
);
const WIDTH = 9;
const CLASSES = 3;
const EXAMPLES = 7;

function dataset(seed: number): Dataset {
  const random = new Random(seed);
  const inputs = Float32Array.from({ length: EXAMPLES * WIDTH }, () => 1.5 * random.normal());
  const labels = Uint8Array.from({ length: EXAMPLES }, () => random.integer(CLASSES));
  return { name: 'random 1x3x3', count: EXAMPLES, inputShape: [1, 3, 3], inputs, labels };
}

/** Weights larger than PyTorch's default, so the tanh units are well into their curved range. */
function weights(seed: number): Map<string, Float64Array> {
  const initial = initializeParameters(model, seed, 'float64') as Map<string, Float64Array>;
  return new Map([...initial].map(([name, values]) => [name, values.map((v) => 3 * v)]));
}

/** The model's class probabilities in plain float64 arithmetic: nothing shared with the emitted graphs. */
function probabilities(w: Map<string, Float64Array>, x: ArrayLike<number>): number[] {
  const [w1, b1, w2, b2] = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'].map((name) => w.get(name)!);
  const hidden = Array.from(b1!, (bias, j) => Math.tanh(Array.from(x).reduce((s, v, i) => s + w1![j * WIDTH + i]! * v, bias)));
  const logits = Array.from(b2!, (bias, c) => hidden.reduce((s, v, j) => s + w2![c * hidden.length + j]! * v, bias));
  const top = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** Each example's ||∂ℓ/∂x||_F and ||∂p/∂x||_F by central differences of the plain forward pass, coordinate by coordinate. */
function finiteDifferenceNorms(w: Map<string, Float64Array>, data: Dataset, h = 1e-5) {
  const lossGradient: number[] = [];
  const jacobian: number[] = [];
  const losses: number[] = [];
  const predictions: number[] = [];
  for (let n = 0; n < data.count; n++) {
    const x = Array.from(data.inputs.subarray(n * WIDTH, (n + 1) * WIDTH));
    const label = data.labels![n]!;
    const p = probabilities(w, x);
    losses.push(-Math.log(p[label]!));
    predictions.push(p.indexOf(Math.max(...p)));
    let gradientSquares = 0;
    let jacobianSquares = 0;
    for (let k = 0; k < WIDTH; k++) {
      const plus = probabilities(w, x.map((v, i) => (i === k ? v + h : v)));
      const minus = probabilities(w, x.map((v, i) => (i === k ? v - h : v)));
      gradientSquares += ((-Math.log(plus[label]!) + Math.log(minus[label]!)) / (2 * h)) ** 2;
      for (let c = 0; c < CLASSES; c++) jacobianSquares += ((plus[c]! - minus[c]!) / (2 * h)) ** 2;
    }
    lossGradient.push(Math.sqrt(gradientSquares));
    jacobian.push(Math.sqrt(jacobianSquares));
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return { lossGradient, jacobian, loss: mean(losses), accuracy: predictions.filter((c, n) => c === data.labels![n]).length / data.count };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, relative: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i]! - expected[i]!) / Math.abs(expected[i]!);
    assert.ok(error <= relative, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (relative error ${error.toExponential(2)} > ${relative})`);
  }
}

describe('input sensitivity, both definitions', () => {
  const data = dataset(11);
  const w = weights(4);
  const reference = finiteDifferenceNorms(w, data);

  it('per-example norms in float64 graphs match central differences of each example\'s own loss and probabilities', async () => {
    const result = await inputSensitivity(model, w, data, { dtype: 'float64', threads: 1, examplesPerCall: 3 });
    assert.equal(result.examples, EXAMPLES);
    assertClose(result.perExample.lossGradient, reference.lossGradient, 1e-7, '||dl_n/dx_n||');
    assertClose(result.perExample.jacobian, reference.jacobian, 1e-7, '||dp(x_n)/dx_n||');
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    assertClose([result.lossGradient, result.jacobian], [mean(reference.lossGradient), mean(reference.jacobian)], 1e-7, 'means over examples');
    assertClose([result.loss], [reference.loss], 1e-12, 'mean cross-entropy');
    assert.equal(result.accuracy, reference.accuracy);
    // The two definitions measure different things: the loss gradient is not the Jacobian's norm.
    assert.ok(result.perExample.lossGradient.some((g, n) => Math.abs(g - result.perExample.jacobian[n]!) > 1e-3 * g));
  });

  it('in float32 graphs (as the experiments run) agree with the float64 differences to float32 round-off', async () => {
    const result = await inputSensitivity(model, w, data, { threads: 1 });
    assertClose(result.perExample.lossGradient, reference.lossGradient, 1e-5, 'float32 ||dl_n/dx_n||');
    assertClose(result.perExample.jacobian, reference.jacobian, 1e-5, 'float32 ||dp(x_n)/dx_n||');
  });

  describe('do not depend on how many examples go into one call', () => {
    // float64 shows the definition (1e-12); float32 kernels for 1 row and for many round differently (a few 1e-6).
    const tolerance = { float64: 1e-12, float32: 1e-5 } as const;
    const evaluators = new Map<string, SensitivityEvaluator>();
    const evaluator = (dtype: 'float32' | 'float64', perCall: number) => evaluators.get(`${dtype}/${perCall}`)!;
    before(async () => {
      for (const dtype of ['float32', 'float64'] as const) {
        for (const perCall of [1, 3, EXAMPLES]) evaluators.set(`${dtype}/${perCall}`, await sensitivityEvaluator(model, { threads: 1, examplesPerCall: perCall, dtype }));
      }
    });
    after(async () => {
      for (const e of evaluators.values()) await e.release();
    });

    for (const dtype of ['float64', 'float32'] as const) {
      it(`1, 3 or all examples per call give the same norms in ${dtype}, and a limit measures the first examples`, async () => {
        const relative = tolerance[dtype];
        const all = await evaluator(dtype, EXAMPLES).measure(w, data);
        assert.equal(evaluator(dtype, EXAMPLES).calls, 1);
        for (const perCall of [1, 3]) {
          const chunked = evaluator(dtype, perCall);
          const result = await chunked.measure(w, data);
          assert.equal(chunked.calls, Math.ceil(EXAMPLES / perCall), `${perCall} per call: calls`);
          assert.equal(result.perCall, perCall);
          assertClose(result.perExample.lossGradient, all.perExample.lossGradient, relative, `${perCall} per call, loss gradient`);
          assertClose(result.perExample.jacobian, all.perExample.jacobian, relative, `${perCall} per call, Jacobian`);
          assertClose([result.lossGradient, result.jacobian, result.loss], [all.lossGradient, all.jacobian, all.loss], relative, `${perCall} per call, means`);
        }
        const first = await evaluator(dtype, 3).measure(w, data, 4);
        assert.equal(first.examples, 4);
        assertClose(first.perExample.lossGradient, all.perExample.lossGradient.subarray(0, 4), relative, 'first 4, loss gradient');
        assertClose(first.perExample.jacobian, all.perExample.jacobian.subarray(0, 4), relative, 'first 4, Jacobian');
      });
    }

    it('other weights give other sensitivities (the weights are fed, not baked into the session)', async () => {
      const e = evaluator('float64', 3);
      const one = await e.measure(w, data);
      const other = await e.measure(weights(5), data);
      assert.ok(Math.abs(one.jacobian - other.jacobian) > 1e-3 * one.jacobian, `${one.jacobian} vs ${other.jacobian}`);
      assertClose(other.perExample.jacobian, finiteDifferenceNorms(weights(5), data).jacobian, 1e-7, 'second weights, Jacobian');
      assertClose(other.perExample.lossGradient, finiteDifferenceNorms(weights(5), data).lossGradient, 1e-7, 'second weights, loss gradient');
    });
  });

  it('refuses a regression model: neither definition applies', async () => {
    const regression = resolveModel(sequential('sensitivity-regression', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(2), tanh(), dense(1)]));
    await assert.rejects(sensitivityEvaluator(regression), /sensitivity-regression is a regression model/);
  });
});
