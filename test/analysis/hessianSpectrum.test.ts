import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix } from 'ml-matrix';
import { hessianEigenvalues, hessianOperator, hessianFromOperator, parameterLayout, topHessianEigenvalue } from '../../src/analysis/hessian.ts';
import { hutchinsonTrace, lanczos } from '../../src/analysis/lanczos.ts';
import { blockDiagonalTop, epsilonBallMaximum } from '../../src/analysis/sharpness.ts';
import { networkSecondOrder } from '../../src/analysis/criticalSearch.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { dense, flatten, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { flattenWeights } from '../../src/analysis/flatWeights.ts';
import { Random } from '../../src/util/random.ts';

// A classifier small enough for hessian.onnx (5-7-3 tanh, 66 parameters), on 12 random examples.
const model = resolveModel(sequential('spectrum-test', { description: 'test', task: 'classification', inputShape: [5], dataset: 'mnist' }, [flatten(), dense(7), tanh(), dense(3)]));
const random = new Random(4);
const x = Float64Array.from({ length: 12 * 5 }, () => random.normal());
const labels = BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i % 3));
// Weights scaled up so that the Hessian's spectrum is spread out and its top eigenvalue is positive and well separated.
const weights = new Map([...initializeParameters(model, 2, 'float64')].map(([name, values]) => [name, Float64Array.from(values, (v) => 3 * v)]));

async function setup() {
  const operator = await hessianOperator(model, weights, { x, target: labels }, { dtype: 'float64', threads: 1 });
  const full = await hessianFromOperator(operator);
  const eigenvalues = Array.from(hessianEigenvalues(full.matrix)).sort((a, b) => b - a);
  return { operator, full: full.matrix, eigenvalues };
}

describe('Hessian spectrum by products, against the full Hessian (hessian.onnx + ml-matrix, float64)', () => {
  it('power iteration and Lanczos (top 5) give the full Hessian\'s eigenvalues to 1e-6 relative', async () => {
    const { operator, eigenvalues } = await setup();
    try {
      const byMagnitude = [...eigenvalues].sort((a, b) => Math.abs(b) - Math.abs(a));
      const power = await topHessianEigenvalue(operator, { iterations: 2000, tolerance: 1e-9, seed: 1 });
      assert.ok(power.converged, power.message);
      assert.ok(Math.abs(power.eigenvalue - byMagnitude[0]!) <= 1e-6 * Math.abs(byMagnitude[0]!), `power ${power.eigenvalue} vs ${byMagnitude[0]}`);
      const run = await lanczos((v) => operator.apply(v), model.parameterCount, { k: 5, tolerance: 1e-9, steps: model.parameterCount, random: new Random(3) });
      assert.ok(run.converged);
      for (let i = 0; i < 5; i++) assert.ok(Math.abs(run.ritzValues[i]! - eigenvalues[i]!) <= 1e-6 * Math.abs(eigenvalues[0]!), `top ${i + 1}: ${run.ritzValues[i]} vs ${eigenvalues[i]}`);
    } finally {
      await operator.release();
    }
  });

  it('Hutchinson converges to the exact trace: within 3 standard errors, and the error bar shrinks like 1/sqrt(samples)', async () => {
    const { operator, eigenvalues } = await setup();
    try {
      const exact = eigenvalues.reduce((a, b) => a + b, 0);
      const few = await hutchinsonTrace((v) => operator.apply(v), model.parameterCount, { samples: 25, random: new Random(8) });
      const many = await hutchinsonTrace((v) => operator.apply(v), model.parameterCount, { samples: 400, random: new Random(9) });
      for (const estimate of [few, many]) assert.ok(Math.abs(estimate.trace - exact) <= 3 * estimate.standardError, `${estimate.trace} ± ${estimate.standardError} vs ${exact}`);
      assert.ok(many.standardError < few.standardError / 2.5, `${many.standardError} vs ${few.standardError}`);
    } finally {
      await operator.release();
    }
  });

  it('the block-diagonal estimate equals the largest eigenvalue of the full Hessian\'s diagonal blocks', async () => {
    const { operator, full } = await setup();
    try {
      const layout = parameterLayout(model);
      const blocks = await blockDiagonalTop((v) => operator.apply(v), layout, { tolerance: 1e-10, steps: 60, random: new Random(5) });
      const expected = layout.map((slice) => {
        const block = new Matrix(slice.size, slice.size);
        for (let i = 0; i < slice.size; i++) for (let j = 0; j < slice.size; j++) block.set(i, j, full.get(slice.offset + i, slice.offset + j));
        return Math.max(...hessianEigenvalues(block));
      });
      blocks.blocks.forEach((b, i) => assert.ok(Math.abs(b.top - expected[i]!) <= 1e-6 * Math.max(...expected.map(Math.abs)), `${b.name}: ${b.top} vs ${expected[i]}`));
      assert.equal(blocks.max, Math.max(...blocks.blocks.map((b) => b.top)));
    } finally {
      await operator.release();
    }
  });

  it('projected ascent never leaves the eps-ball, on the network in float64', async () => {
    const oracle = await networkSecondOrder(model, { x, target: labels, count: 12 }, { threads: 1 });
    try {
      const theta = flattenWeights(model, weights);
      const epsilon = 1e-2;
      let farthest = 0;
      const watched = async (t: Float64Array) => {
        farthest = Math.max(farthest, Math.sqrt(t.reduce((s, v, i) => s + (v - theta[i]!) ** 2, 0)));
        return oracle.gradientAt(t);
      };
      const result = await epsilonBallMaximum(watched, theta, { epsilon, steps: 40, random: new Random(6) });
      assert.ok(farthest <= epsilon * (1 + 1e-12), `a point ${farthest} from the centre`);
      assert.ok(result.rise > 0 && result.radiusUsed <= 1 + 1e-12);
    } finally {
      await oracle.release();
    }
  });
});
