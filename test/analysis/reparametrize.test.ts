import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { fullHessian, hessianEigenvalues, parameterLayout } from '../../src/analysis/hessian.ts';
import { denseNetworkOutputs, rescaleLayers } from '../../src/analysis/reparametrize.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { dense, relu, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../../src/nn/model.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { forwardGraph } from '../../src/programs/programs.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';

const classifier = (name: string, layers: Parameters<typeof sequential>[2]) =>
  resolveModel(sequential(name, { description: 'test', task: 'classification', inputShape: [4], dataset: 'mnist' }, layers));

/** 4-6-3 with ReLU: 51 parameters, a full Hessian in one run. */
const small = classifier('rescale-4-6-3', [dense(6), relu(), dense(3)]);
const deeper = classifier('rescale-4-6-5-3', [dense(6), relu(), dense(5), relu(), dense(3)]);
const smooth = classifier('rescale-4-6-3-tanh', [dense(6), tanh(), dense(3)]);

const N = 24;
const random = new Random(11);
const x = Float64Array.from({ length: N * 4 }, () => random.normal());
const labels = BigInt64Array.from({ length: N }, () => BigInt(random.integer(3)));
/** PyTorch's init times 3, so the logits and the Hessian are not tiny. */
const weights = new Map([...initializeParameters(small, 7, 'float64')].map(([name, values]) => [name, Float64Array.from(values, (v) => 3 * v)]));

const maxAbsDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function onnxOutputs(model: Model, values: ReadonlyMap<string, ArrayLike<number>>): Promise<Float64Array> {
  const session = await createSession(serializeGraph(forwardGraph(model, 'float64')), { threads: 1 });
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float64', x, [N, 4]) };
  for (const p of model.parameters) feeds[p.name] = new ort.Tensor('float64', Float64Array.from(values.get(p.name)!), [...p.shape]);
  const y = (await session.run(feeds)).y!.data as Float64Array;
  await session.release();
  return Float64Array.from(y);
}

describe('rescaleLayers (Dinh et al. 2017)', () => {
  it('multiplies fc1 (weight and bias) by a, divides fc2.weight by a, keeps fc2.bias, and leaves its input alone', () => {
    const before = new Map([...weights].map(([name, v]) => [name, Float64Array.from(v)]));
    const scaled = rescaleLayers(small, weights, { layer: 'fc1', next: 'fc2', factor: 4 });
    assert.deepEqual(scaled.get('fc1.weight'), weights.get('fc1.weight')!.map((v) => v * 4));
    assert.deepEqual(scaled.get('fc1.bias'), weights.get('fc1.bias')!.map((v) => v * 4));
    assert.deepEqual(scaled.get('fc2.weight'), weights.get('fc2.weight')!.map((v) => v / 4));
    assert.deepEqual(scaled.get('fc2.bias'), weights.get('fc2.bias'));
    assert.notEqual(scaled.get('fc2.bias'), weights.get('fc2.bias'), 'a copy, not the same array');
    assert.deepEqual(weights, before, 'the input weights are unchanged');
  });

  it('computes the same outputs to 1e-12 for a from 1e-3 to 1e3 (plain float64 arithmetic, which the ONNX forward program confirms)', async () => {
    const reference = denseNetworkOutputs(small, weights, x, N);
    // The plain arithmetic is the emitted forward program's function.
    assert.ok(maxAbsDifference(reference, await onnxOutputs(small, weights)) < 1e-12, 'plain arithmetic vs forward.onnx');
    // Some hidden units are off for some inputs, so the ReLU matters.
    const w1 = weights.get('fc1.weight')!;
    const b1 = weights.get('fc1.bias')!;
    let off = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < 6; j++) if (b1[j]! + [0, 1, 2, 3].reduce((s, i) => s + w1[j * 4 + i]! * x[n * 4 + i]!, 0) < 0) off++;
    assert.ok(off > 0 && off < N * 6, `${off} of ${N * 6} pre-activations are negative`);
    const largest = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(largest > 0.5, `logits up to ${largest}`);
    for (const factor of [1e-3, 0.1, 0.5, 3, 1e3]) {
      const scaled = rescaleLayers(small, weights, { layer: 'fc1', next: 'fc2', factor });
      const outputs = denseNetworkOutputs(small, scaled, x, N);
      assert.ok(maxAbsDifference(outputs, reference) < 1e-12, `a = ${factor}: max |difference| ${maxAbsDifference(outputs, reference)}`);
      assert.ok(maxAbsDifference(await onnxOutputs(small, scaled), reference) < 1e-12, `a = ${factor}: forward.onnx`);
    }
    // Through a tanh the same scaling changes the function: the ReLU's homogeneity is what keeps it.
    const tanhWeights = initializeParameters(smooth, 7, 'float64');
    const doubled = new Map([...tanhWeights].map(([name, v]) => [name, Float64Array.from(v, (w) => (name.startsWith('fc1') ? 2 * w : name === 'fc2.weight' ? w / 2 : w))]));
    assert.ok(maxAbsDifference(await onnxOutputs(smooth, doubled), await onnxOutputs(smooth, tanhWeights)) > 1e-3, 'tanh is not homogeneous');
  });

  it('keeps the loss but transforms the Hessian as T⁻¹ H T⁻¹, so λ_max changes with a', async () => {
    const data = { x, target: labels };
    const at = async (factor: number) => fullHessian(small, rescaleLayers(small, weights, { layer: 'fc1', next: 'fc2', factor }), data, { threads: 1 });
    const one = await at(1);
    const layout = parameterLayout(small);
    const P = small.parameterCount;
    const lambda: Record<string, number> = { 1: hessianEigenvalues(one.matrix).at(-1)! };
    for (const factor of [0.1, 10]) {
      const h = await at(factor);
      assert.ok(Math.abs(h.loss - one.loss) <= 1e-12 * one.loss, `a = ${factor}: loss ${h.loss} vs ${one.loss}`);
      // θ' = T θ with T = a on fc1, 1/a on fc2.weight, 1 on fc2.bias: H' = T⁻¹ H T⁻¹.
      const inverse = new Float64Array(P).fill(1);
      for (const slice of layout) {
        const s = slice.name.startsWith('fc1.') ? 1 / factor : slice.name === 'fc2.weight' ? factor : 1;
        inverse.fill(s, slice.offset, slice.offset + slice.size);
      }
      let worst = 0;
      let largest = 0;
      for (let i = 0; i < P; i++) {
        for (let j = 0; j < P; j++) {
          largest = Math.max(largest, Math.abs(h.matrix.get(i, j)));
          worst = Math.max(worst, Math.abs(h.matrix.get(i, j) - inverse[i]! * one.matrix.get(i, j) * inverse[j]!));
        }
      }
      assert.ok(worst <= 1e-10 * largest, `a = ${factor}: max |H_a − T⁻¹ H T⁻¹| = ${worst} of max |H_a| ${largest}`);
      lambda[factor] = hessianEigenvalues(h.matrix).at(-1)!;
    }
    assert.ok(Math.abs(lambda[10]! - lambda[0.1]!) > 0.1 * Math.max(lambda[10]!, lambda[0.1]!), `λ_max ${lambda[0.1]} at a = 0.1, ${lambda[10]} at a = 10`);
    assert.ok(lambda[10]! > 2 * lambda[1]! && lambda[0.1]! > 2 * lambda[1]!, `λ_max grows away from a = 1 on both sides: ${JSON.stringify(lambda)}`);
  });

  it('refuses a ≤ 0 and layers that are not dense → ReLU → dense, naming the problem', () => {
    for (const factor of [0, -2, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => rescaleLayers(small, weights, { layer: 'fc1', next: 'fc2', factor }), /the factor must be a finite number > 0 \(ReLU is positively homogeneous only for a > 0\), got/, `a = ${factor}`);
    }
    assert.throws(() => rescaleLayers(small, weights, { layer: 'fc7', next: 'fc2', factor: 2 }), /has no layer "fc7" \(its layers: fc1, relu1, fc2\)/);
    assert.throws(() => rescaleLayers(small, weights, { layer: 'relu1', next: 'fc2', factor: 2 }), /layer "relu1" is a ReLU, not a dense \(Linear\) layer/);
    assert.throws(() => rescaleLayers(small, weights, { layer: 'fc2', next: 'fc1', factor: 2 }), /"fc2" and "fc1" are not consecutive dense layers with one ReLU between them/);
    const deeperWeights = initializeParameters(deeper, 1, 'float64');
    assert.throws(() => rescaleLayers(deeper, deeperWeights, { layer: 'fc1', next: 'fc3', factor: 2 }), /"fc1" and "fc3" are not consecutive dense layers/);
    assert.doesNotThrow(() => rescaleLayers(deeper, deeperWeights, { layer: 'fc2', next: 'fc3', factor: 2 }));
    assert.throws(() => rescaleLayers(smooth, initializeParameters(smooth, 1, 'float64'), { layer: 'fc1', next: 'fc2', factor: 2 }), /between "fc1" and "fc2" is "tanh1", a Tanh, not a ReLU/);
    const missing = new Map(weights);
    missing.delete('fc2.weight');
    assert.throws(() => rescaleLayers(small, missing, { layer: 'fc1', next: 'fc2', factor: 2 }), /the weights of fc2.weight are missing, expected \[3,6\]/);
  });
});
