import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyCriticalPoint, gradientJump, modelBatchLoss, sampledMinimalRatio, type BatchLoss } from '../../src/analysis/criticalPoints.ts';
import { networkSecondOrder } from '../../src/analysis/criticalSearch.ts';
import { fullHessian, hessianEigenvalues, minimalRatio } from '../../src/analysis/hessian.ts';
import { levenbergMarquardt, type SecondOrderOracle } from '../../src/analysis/levenbergMarquardt.ts';
import { dense, relu } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { Random } from '../../src/util/random.ts';

/** A BatchLoss from a plain function of the point. */
const plain = (f: (p: Float64Array) => number): BatchLoss => async (points) => points.map(f);

describe('minimal ratio by sampling neighbours', () => {
  it('gives 0.5 +- 0.05 at a quadratic saddle, 1 at a minimum, 0 at a maximum (2,000 samples)', async () => {
    const cases: [string, (p: Float64Array) => number, number, number][] = [
      ['saddle x^2 - y^2', (p) => p[0]! ** 2 - p[1]! ** 2, 0.45, 0.55],
      ['minimum x^2 + 2y^2', (p) => p[0]! ** 2 + 2 * p[1]! ** 2, 1, 1],
      ['maximum -(x^2 + y^2)', (p) => -(p[0]! ** 2 + p[1]! ** 2), 0, 0],
    ];
    for (const [what, f, lo, hi] of cases) {
      const result = await sampledMinimalRatio(plain(f), [0, 0], { radius: 0.1, samples: 2000, random: new Random(3), batch: 300 });
      assert.ok(result.ratio >= lo && result.ratio <= hi, `${what}: ${result.ratio}`);
      assert.equal(result.samples, 2000);
      assert.ok(result.centerLoss === 0, 'the loss at the center');
    }
    // Seeded: the same seed draws the same neighbours.
    const f = (p: Float64Array) => p[0]! ** 2 - 3 * p[1]! ** 2;
    const a = await sampledMinimalRatio(plain(f), [0, 0], { radius: 0.1, samples: 500, random: new Random(9) });
    const b = await sampledMinimalRatio(plain(f), [0, 0], { radius: 0.1, samples: 500, random: new Random(9) });
    assert.deepEqual(a, b);
  });

  it('agrees with the eigenvalues at the saddle of a network (w2 w1 x at 0), both evaluated in float64 graphs', async () => {
    const model = resolveModel(
      sequential('w2-w1-x', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(1, { bias: false }), dense(1, { bias: false })]),
    );
    const zero = new Map([['fc1.weight', Float64Array.of(0)], ['fc2.weight', Float64Array.of(0)]]);
    const data = { x: Float64Array.of(1, 2), target: Float64Array.of(1, 1), count: 2 };
    const eigen = minimalRatio(hessianEigenvalues((await fullHessian(model, zero, data)).matrix));
    assert.equal(eigen.ratio, 0.5);
    assert.equal(classifyCriticalPoint(eigen), 'saddle');
    const batch = await modelBatchLoss(model, [0, 0], data, { threads: 1 });
    const sampled = await sampledMinimalRatio(batch.lossAt, [0, 0], { radius: 1e-3, samples: 2000, random: new Random(1), batch: 512 });
    await batch.release();
    assert.ok(Math.abs(sampled.ratio - 0.5) <= 0.05, `sampled ${sampled.ratio}`);
    assert.equal(sampled.centerLoss, 1, 'the loss at w = 0 is mean((0 - 1)^2) = 1');
  });

  it('classifies points from the eigenvalue counts', () => {
    assert.equal(classifyCriticalPoint({ positive: 3, negative: 0, zero: 0 }), 'minimum');
    assert.equal(classifyCriticalPoint({ positive: 0, negative: 2, zero: 0 }), 'maximum');
    assert.equal(classifyCriticalPoint({ positive: 3, negative: 1, zero: 4 }), 'saddle');
    assert.equal(classifyCriticalPoint({ positive: 3, negative: 0, zero: 4 }), 'degenerate');
    assert.equal(classifyCriticalPoint({ positive: 0, negative: 0, zero: 4 }), 'flat');
  });
});

describe('Levenberg-Marquardt on grad L = 0', () => {
  it('lands on a quadratic\'s critical point (here a saddle) in one step as the damping goes to 0', async () => {
    // L = 1/2 t^T A t - b^T t with A indefinite: the critical point t* = A^-1 b is a saddle.
    const A = [
      [3, 1],
      [1, -2],
    ];
    const b = [1, 2];
    const oracle: SecondOrderOracle = async (t) => ({
      loss: 0.5 * (t[0]! * (A[0]![0]! * t[0]! + A[0]![1]! * t[1]!) + t[1]! * (A[1]![0]! * t[0]! + A[1]![1]! * t[1]!)) - b[0]! * t[0]! - b[1]! * t[1]!,
      gradient: Float64Array.of(A[0]![0]! * t[0]! + A[0]![1]! * t[1]! - b[0]!, A[1]![0]! * t[0]! + A[1]![1]! * t[1]! - b[1]!),
      hessian: Float64Array.of(3, 1, 1, -2),
    });
    const result = await levenbergMarquardt(oracle, [5, -4], { initialDamping: 1e-15, maxSteps: 1, tolerance: 1e-12 });
    const det = 3 * -2 - 1;
    const star = [(-2 * b[0]! - 1 * b[1]!) / det, (-1 * b[0]! + 3 * b[1]!) / det];
    assert.equal(result.steps, 1);
    assert.ok(Math.hypot(result.theta[0]! - star[0]!, result.theta[1]! - star[1]!) < 1e-9, `${result.theta} vs ${star}`);
    assert.ok(result.gradientNorm < 1e-9);
  });

  it('converges to the saddle of x^4/4 - x^2/2 + y^2/2 from nearby, where gradient descent would leave it', async () => {
    const oracle: SecondOrderOracle = async (t) => {
      const [x, y] = [t[0]!, t[1]!];
      return { loss: x ** 4 / 4 - x ** 2 / 2 + y ** 2 / 2, gradient: Float64Array.of(x ** 3 - x, y), hessian: Float64Array.of(3 * x * x - 1, 0, 0, 1) };
    };
    const result = await levenbergMarquardt(oracle, [0.05, 0.3], { tolerance: 1e-12 });
    assert.equal(result.stop, 'tolerance');
    assert.ok(result.gradientNorm < 1e-12 && Math.hypot(result.theta[0]!, result.theta[1]!) < 1e-11, `${result.theta}`);
    assert.ok(result.gradientNorms.every((g, i) => i === 0 || g < result.gradientNorms[i - 1]!), 'every accepted step lowers ||g||');
    const eigen = minimalRatio([3 * result.theta[0]! ** 2 - 1, 1]);
    assert.equal(classifyCriticalPoint(eigen), 'saddle');
    assert.equal(eigen.ratio, 0.5);
  });

  it('says why it stopped: a step limit, or damping that no longer helps', async () => {
    const oracle: SecondOrderOracle = async (t) => ({ loss: t[0]! ** 4, gradient: Float64Array.of(4 * t[0]! ** 3), hessian: Float64Array.of(12 * t[0]! ** 2) });
    const limited = await levenbergMarquardt(oracle, [1], { maxSteps: 3, tolerance: 1e-30 });
    assert.equal(limited.stop, 'step limit');
    assert.equal(limited.steps, 3);
    assert.equal(limited.gradientNorms.length, 4);
  });
});

describe('gradient jumps at ReLU kinks', () => {
  it('tells a point on a kink (an example\'s pre-activation exactly 0) from a smooth one', async () => {
    // 1-1-1 ReLU regression: pre-activation w x + b = 0 for the example x = 0.5 when (w, b) = (1, -0.5).
    const model = resolveModel(sequential('kink-1-1-1', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(1), relu(), dense(1)]));
    const data = { x: Float64Array.of(0.5, 1), target: Float64Array.of(1, 0), count: 2 };
    const oracle = await networkSecondOrder(model, data, { threads: 1 });
    for (const [b, smooth] of [[-0.5, false], [-0.3, true]] as const) {
      const theta = Float64Array.of(1, b, 0.7, 0.1);
      const at = await oracle.at(theta);
      const jump = await gradientJump((t) => oracle.gradientAt(t), theta, at.hessian, { random: new Random(2), directions: 16 });
      assert.equal(jump.smooth, smooth, `b = ${b}: quotient ${jump.maxQuotient} vs ||H|| ${jump.hessianNorm}`);
    }
    await oracle.release();
  });
});
