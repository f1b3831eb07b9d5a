import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { modelDeclarations } from '../../models/index.ts';
import {
  fullHessian,
  eigenvalueTolerance,
  hessianEigenvalues,
  hessianFromOperator,
  hessianOperator,
  minimalRatio,
  parameterLayout,
  topHessianEigenvalue,
} from '../../src/analysis/hessian.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { dense, relu, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../../src/nn/model.ts';
import { findModel } from '../../src/nn/registry.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { adam } from '../../src/optim/adam.ts';
import { writeModelPrograms } from '../../src/programs/build.ts';
import type { Manifest } from '../../src/programs/manifest.ts';
import { gradientGraph } from '../../src/programs/programs.ts';
import { gradNormStepGraph, gradNormStepsGraph, hvpGraph, inputGradGraph, jacobianGraph } from '../../src/programs/secondOrder.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';
import { Matrix } from 'ml-matrix';
import { CHECKER_SKIP_REASON, checkOnnxFiles, onnxCheckerVersion } from '../support/onnxChecker.ts';

// Second-order and input-gradient programs, all in float64 against central
// finite differences of first-order programs (JAX's check_grads pattern).

/** 1-5-5-1 ReLU regression: 46 parameters, small enough for a full Hessian. */
const tiny = resolveModel(
  sequential('tiny-relu', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(5), relu(), dense(5), relu(), dense(1)]),
);
const funcDeep = findModel('func-deep');
const classifier = findModel('mnist-dnn-small');

interface Batch {
  x: Float64Array;
  target: Float64Array | BigInt64Array;
  n: number;
}

function batchFor(model: Model, n: number, seed: number): Batch {
  const random = new Random(seed);
  const width = model.inputShape.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: n * width }, () => (model.task === 'classification' ? random.next() : random.uniform(-1, 1)));
  const target =
    model.task === 'classification'
      ? BigInt64Array.from({ length: n }, () => BigInt(random.integer(model.outputShape[0]!)))
      : Float64Array.from(x, (v) => Math.sin(3 * v));
  return { x, target, n };
}

/** Flattened weights (parameterLayout order) <-> per-parameter arrays. */
function flat(model: Model, values: ReadonlyMap<string, ArrayLike<number>>): Float64Array {
  const out = new Float64Array(model.parameterCount);
  for (const slice of parameterLayout(model)) out.set(values.get(slice.name)!, slice.offset);
  return out;
}

/** A float64 session of one program, fed batch, weights and extra inputs by name. */
async function program(graph: Graph, model: Model, batch: Batch) {
  const session = await createSession(serializeGraph(graph), { threads: 1 });
  const hasTarget = graph.inputs.some((v) => v.name === 'target');
  const run = (weights: Float64Array, extra: Record<string, ort.Tensor> = {}, x: Float64Array = batch.x) => {
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float64', x, [batch.n, ...model.inputShape]), ...extra };
    if (hasTarget) {
      feeds.target =
        batch.target instanceof BigInt64Array
          ? new ort.Tensor('int64', batch.target, [batch.n])
          : new ort.Tensor('float64', batch.target, [batch.n, model.outputShape[0]!]);
    }
    for (const s of parameterLayout(model)) feeds[s.name] = new ort.Tensor('float64', weights.slice(s.offset, s.offset + s.size), [...s.shape]);
    return session.run(feeds);
  };
  return { run, release: () => session.release() };
}

function collect(model: Model, outputs: ort.InferenceSession.OnnxValueMapType, prefix: string): Float64Array {
  const out = new Float64Array(model.parameterCount);
  for (const s of parameterLayout(model)) out.set(outputs[`${prefix}${s.name}`]!.data as Float64Array, s.offset);
  return out;
}

function directionFeeds(model: Model, v: Float64Array): Record<string, ort.Tensor> {
  return Object.fromEntries(parameterLayout(model).map((s) => [`v.${s.name}`, new ort.Tensor('float64', v.slice(s.offset, s.offset + s.size), [...s.shape])]));
}

const scalar = (tensor: ort.Tensor | undefined) => (tensor!.data as Float64Array)[0]!;
const axpy = (a: number, x: Float64Array, y: Float64Array) => y.map((value, i) => value + a * x[i]!);
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);
const relativeDistance = (a: Float64Array, b: Float64Array) => norm(a.map((x, i) => x - b[i]!)) / Math.max(norm(a), norm(b));
const randomVector = (size: number, seed: number) => {
  const random = new Random(seed);
  return Float64Array.from({ length: size }, () => random.uniform(-1, 1));
};

describe('hvp.onnx: exact Hessian-vector products (float64)', () => {
  for (const [model, n] of [
    [classifier, 8],
    [funcDeep, 16],
  ] as const) {
    it(`matches central differences of gradient.onnx along v for ${model.name} (relative error < 1e-6)`, async () => {
      const batch = batchFor(model, n, 5);
      const w = flat(model, initializeParameters(model, 3, 'float64'));
      const v = randomVector(model.parameterCount, 9);
      const hvp = await program(hvpGraph(model, 'float64'), model, batch);
      const gradient = await program(gradientGraph(model, 'float64'), model, batch);
      const out = await hvp.run(w, directionFeeds(model, v));
      const analytic = collect(model, out, 'hvp.');
      const h = 1e-5;
      const plus = collect(model, await gradient.run(axpy(h, v, w)), 'grad.');
      const minus = collect(model, await gradient.run(axpy(-h, v, w)), 'grad.');
      const numeric = plus.map((g, i) => (g - minus[i]!) / (2 * h));
      const error = relativeDistance(analytic, numeric);
      assert.ok(norm(analytic) > 1e-3, `a non-trivial product (||Hv|| = ${norm(analytic)})`);
      assert.ok(error < 1e-6, `||Hv - finite difference|| / ||Hv|| = ${error.toExponential(2)}`);
      // Its loss and gradient are gradient.onnx's.
      const center = await gradient.run(w);
      assert.equal(scalar(out.loss), scalar(center.loss));
      assert.ok(relativeDistance(collect(model, out, 'grad.'), collect(model, center, 'grad.')) < 1e-14);
      await hvp.release();
      await gradient.release();
    });
  }
});

describe('the full Hessian of a 46-parameter ReLU regression (analysis/hessian.ts)', async () => {
  assert.equal(tiny.parameterCount, 46);
  const batch = batchFor(tiny, 20, 21);
  const weights = initializeParameters(tiny, 4, 'float64');
  const result = await fullHessian(tiny, weights, batch);
  const H = result.matrix;
  const P = tiny.parameterCount;
  const eigenvalues = hessianEigenvalues(H);
  const maxAbs = H.clone().abs().max();

  it('is symmetric to round-off before symmetrizing (relative 1e-10)', () => {
    assert.equal(result.hvpRuns, P);
    assert.ok(result.relativeAsymmetry < 1e-10, `relative asymmetry ${result.relativeAsymmetry}`);
    assert.ok(maxAbs > 0.01, 'not a zero matrix');
  });

  it('matches central differences of gradient.onnx, column by column (1e-6)', async () => {
    const gradient = await program(gradientGraph(tiny, 'float64'), tiny, batch);
    const w = flat(tiny, weights);
    const h = 1e-5;
    let worst = 0;
    for (let i = 0; i < P; i++) {
      const plus = Float64Array.from(w);
      const minus = Float64Array.from(w);
      plus[i]! += h;
      minus[i]! -= h;
      const gp = collect(tiny, await gradient.run(plus), 'grad.');
      const gm = collect(tiny, await gradient.run(minus), 'grad.');
      for (let j = 0; j < P; j++) worst = Math.max(worst, Math.abs((gp[j]! - gm[j]!) / (2 * h) - H.get(j, i)));
    }
    assert.equal(result.loss, scalar((await gradient.run(w)).loss));
    await gradient.release();
    assert.ok(worst / maxAbs < 1e-6, `max |H - H_fd| / max H = ${(worst / maxAbs).toExponential(2)}`);
  });

  it('has eigenvalues (ml-matrix) that reproduce its trace and Frobenius norm', () => {
    assert.equal(eigenvalues.length, P);
    for (let i = 1; i < P; i++) assert.ok(eigenvalues[i - 1]! <= eigenvalues[i]!, 'ascending');
    const trace = H.trace();
    const frobenius2 = H.norm('frobenius') ** 2;
    const sum = eigenvalues.reduce((a, b) => a + b, 0);
    const sumSquares = eigenvalues.reduce((a, b) => a + b * b, 0);
    assert.ok(Math.abs(sum - trace) < 1e-10 * frobenius2 ** 0.5, `sum of eigenvalues ${sum} vs trace ${trace}`);
    assert.ok(Math.abs(sumSquares - frobenius2) < 1e-10 * frobenius2, `sum of squares ${sumSquares} vs ||H||_F^2 ${frobenius2}`);
  });

  it('gives the largest-magnitude eigenvalue by power iteration with HVPs (1e-6)', async () => {
    const largest = Math.abs(eigenvalues[0]!) > Math.abs(eigenvalues[P - 1]!) ? eigenvalues[0]! : eigenvalues[P - 1]!;
    const operator = await hessianOperator(tiny, weights, batch);
    const top = await topHessianEigenvalue(operator, { iterations: 2000, tolerance: 1e-13, seed: 1 });
    await operator.release();
    assert.ok(top.converged, `converged after ${top.iterations} HVPs`);
    assert.ok(Math.abs(top.eigenvalue - largest) / Math.abs(largest) < 1e-6, `power iteration ${top.eigenvalue} vs eigendecomposition ${largest}`);
    assert.equal(operator.products, top.iterations);
  });

  it('computes every column in one hessian.onnx run, equal to one hvp.onnx run per basis vector (1e-12)', async () => {
    const operator = await hessianOperator(tiny, weights, batch);
    const columns = await operator.columns();
    let worst = 0;
    for (const i of [0, 7, 20, 45]) {
      const basis = new Float64Array(P);
      basis[i] = 1;
      const column = await operator.apply(basis);
      for (let j = 0; j < P; j++) worst = Math.max(worst, Math.abs(columns[i * P + j]! - column[j]!));
    }
    await operator.release();
    assert.ok(worst <= 1e-12 * maxAbs, `max difference ${worst}`);
  });

  it('runs power iteration in one power_iteration.onnx run, step for step as v <- Hv / ||Hv|| on the matrix', async () => {
    const operator = await hessianOperator(tiny, weights, batch);
    const random = new Random(5);
    const start = Float64Array.from({ length: P }, () => random.normal());
    const run = await operator.powerIteration(start, 12, 0);
    // The same iteration in plain JavaScript on the full Hessian.
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((sum, value, i) => sum + value * b[i]!, 0);
    let v = Array.from(start, (value) => value / Math.sqrt(dot(start, start)));
    const expected: number[] = [];
    for (let k = 0; k < 12; k++) {
      const hv = H.mmul(Matrix.columnVector(v)).getColumn(0);
      expected.push(dot(v, hv));
      if (k < 11) v = hv.map((value) => value / Math.sqrt(dot(hv, hv)));
    }
    assert.equal(run.estimates.length, 12, 'tolerance 0 runs every iteration');
    run.estimates.forEach((estimate, k) => assert.ok(Math.abs(estimate - expected[k]!) < 1e-10 * Math.abs(expected[k]!), `estimate ${k}: ${estimate} vs ${expected[k]}`));
    assert.ok(Math.abs(dot(run.vector, v) - 1) < 1e-10, 'the returned vector is the last v');
    assert.ok(Number.isNaN(run.relativeChanges[0]!) && run.relativeChanges[11]! > 0);

    // The residual of every product is ||Hv - lambda v|| / |lambda| of that v.
    const hv = H.mmul(Matrix.columnVector(v)).getColumn(0);
    const residual = Math.sqrt(hv.reduce((sum, value, i) => sum + (value - expected[11]! * v[i]!) ** 2, 0)) / Math.abs(expected[11]!);
    assert.ok(Math.abs(run.relativeResiduals[11]! - residual) < 1e-8 * residual, `residual ${run.relativeResiduals[11]} vs ${residual}`);

    const early = await operator.powerIteration(start, 2000, 1e-4);
    assert.ok(early.estimates.length < 2000, `stops when the residual is below the tolerance (${early.estimates.length} products)`);
    assert.ok(early.relativeResidual < 1e-4 && early.relativeResidual === early.relativeResiduals.at(-1));
    assert.ok(early.relativeResiduals.slice(0, -1).every((r) => r >= 1e-4), 'and not before');
    await operator.release();
  });

  it('returns a negative eigenvalue of largest magnitude with its sign', async () => {
    // A 1-3-1 tanh regression far from a minimum (weights x3), whose most
    // curved direction has negative curvature: -7.01 beside 5.17.
    const bent = resolveModel(
      sequential('tanh-1-3-1', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(3), tanh(), dense(1)]),
    );
    const random = new Random(34);
    const x = Float64Array.from({ length: 20 }, () => random.uniform(-1, 1));
    const data = { x, target: Float64Array.from(x, (v) => 3 * Math.sin(3 * v)) };
    const scaled = new Map([...initializeParameters(bent, 34, 'float64')].map(([name, values]) => [name, Float64Array.from(values, (v) => 3 * v)]));
    const spectrum = hessianEigenvalues((await fullHessian(bent, scaled, data)).matrix);
    const largest = spectrum[0]!;
    assert.ok(largest < 0 && Math.abs(largest) > Math.abs(spectrum[spectrum.length - 1]!), `the spectrum ${spectrum[0]} .. ${spectrum.at(-1)}`);
    const operator = await hessianOperator(bent, scaled, data);
    const top = await topHessianEigenvalue(operator, { iterations: 2000, tolerance: 1e-13, seed: 1 });
    await operator.release();
    assert.ok(top.converged);
    assert.ok(Math.abs(top.eigenvalue - largest) / Math.abs(largest) < 1e-6, `${top.eigenvalue} vs ${largest}`);
    assert.ok(top.relativeResidual < 1e-5, `residual ${top.relativeResidual}`);
  });

  it('never reports convergence on eigenvalues +-3: it names the problem and gives the magnitude', async () => {
    // f = w2 * w1 * x, MSE, at w = 0 with x = [1, 2], y = [1, 1]: H = [[0, -3], [-3, 0]].
    const product = resolveModel(
      sequential('w2-w1-x', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(1, { bias: false }), dense(1, { bias: false })]),
    );
    const zero = new Map([['fc1.weight', Float64Array.of(0)], ['fc2.weight', Float64Array.of(0)]]);
    const data = { x: Float64Array.of(1, 2), target: Float64Array.of(1, 1) };
    const spectrum = hessianEigenvalues((await fullHessian(product, zero, data)).matrix);
    assert.deepEqual(Array.from(spectrum, (l) => Math.round(l * 1e9) / 1e9), [-3, 3]);
    const operator = await hessianOperator(product, zero, data);
    for (const seed of [0, 1, 2, 3]) {
      const before = operator.products;
      const top = await topHessianEigenvalue(operator, { iterations: 100, tolerance: 1e-6, seed });
      assert.equal(top.converged, false, `seed ${seed}: converged at ${top.eigenvalue} (residual ${top.relativeResidual})`);
      assert.equal(top.problem, 'opposite-signs', `seed ${seed}: ${top.message}`);
      assert.ok(Number.isNaN(top.eigenvalue), 'no signed answer');
      assert.ok(Math.abs(top.largestMagnitude - 3) < 1e-9, `magnitude ${top.largestMagnitude}`);
      assert.match(top.message!, /both signs.*Lanczos/);
      assert.equal(top.iterations, 100);
      assert.equal(operator.products - before, 100, 'the budget, and no product more to tell why');
    }
    await operator.release();
  });

  it('does not stop early on nearly equal eigenvalues 2 and 1.998: converged means right to the tolerance', async () => {
    // Linear least squares y = w . x: H = (2/N) X^T X = diag(2, 1.998).
    const linear = resolveModel(
      sequential('linear-2', { description: 'test', task: 'regression', inputShape: [2], dataset: 'function:sinc' }, [dense(1, { bias: false })]),
    );
    const weights = new Map([['fc1.weight', Float64Array.of(0.3, -0.7)]]);
    const data = { x: Float64Array.of(Math.SQRT2, 0, 0, Math.sqrt(1.998)), target: Float64Array.of(0, 0) };
    const operator = await hessianOperator(linear, weights, data);
    const short = await topHessianEigenvalue(operator, { iterations: 100, tolerance: 1e-6, seed: 0 });
    assert.equal(short.converged, false, `100 products cannot separate 2 from 1.998 to 1e-6: got ${short.eigenvalue}`);
    assert.equal(short.problem, 'budget');
    assert.ok(short.relativeResidual >= 1e-6);
    assert.match(short.message!, /raise the iterations/);
    const long = await topHessianEigenvalue(operator, { iterations: 20000, tolerance: 1e-6, seed: 0 });
    assert.ok(long.converged && long.iterations < 20000, `converged after ${long.iterations}`);
    assert.ok(Math.abs(long.eigenvalue - 2) / 2 < 1e-6, `${long.eigenvalue}`);
    assert.equal(long.problem, undefined);
    await operator.release();
  });

  it('counts positive eigenvalues above a round-off tolerance for the minimal ratio', () => {
    const result = minimalRatio(eigenvalues);
    const positives = eigenvalues.filter((l) => l > 1e-12 * Math.abs(eigenvalues[P - 1]!)).length;
    assert.equal(result.ratio, positives / P);
    assert.ok(result.resolved && result.positive === positives && result.positive + result.zero + result.negative === P);
    assert.equal(minimalRatio([-1, 0, 1e-20, 2, 3]).ratio, 2 / 5);
    assert.equal(minimalRatio([-1, 0, 1e-20, 2, 3], { tolerance: 0 }).ratio, 3 / 5);
    // The zero band is max |lambda| * P * epsilon of the dtype: 3 * 5 * 2^-23 = 1.8e-6 in float32.
    assert.equal(eigenvalueTolerance([-1, 0, 1e-20, 2, 3], 'float32'), 15 * 2 ** -23);
    assert.deepEqual(minimalRatio([-1, 1e-5, 2, 3], { dtype: 'float32' }).ratio, 3 / 4, 'nothing in the band: a float32 count');
    const unresolved = minimalRatio([-1, 1e-7, 2, 3], { dtype: 'float32' });
    assert.equal(unresolved.ratio, null);
    assert.deepEqual(unresolved.bounds, [2 / 4, 3 / 4]);
    assert.match(unresolved.note!, /float32 cannot tell 1 of 4 eigenvalues from zero.*\[2\/4, 3\/4\].*float64/);
  });

  it('accepts a float32 operator\'s Hessian, checked for symmetry at float32 round-off', async () => {
    const operator = await hessianOperator(tiny, weights, batch, { dtype: 'float32' });
    assert.equal(operator.dtype, 'float32');
    const single = await hessianFromOperator(operator);
    await operator.release();
    assert.equal(single.dtype, 'float32');
    assert.ok(single.relativeAsymmetry > 1e-10, `float32 round-off shows (${single.relativeAsymmetry})`);
    const difference = single.matrix.clone().sub(H).abs().max();
    assert.ok(difference < 1e-5 * maxAbs, `float32 Hessian within float32 round-off of float64 (${difference})`);
  });

  it('gives float32 and float64 Hessians of one network the same minimal ratio, or says float32 cannot tell', async () => {
    let unresolvedSeen = 0;
    for (const seed of [4, 5, 6, 7]) {
      const w = initializeParameters(tiny, seed, 'float64');
      const double = await fullHessian(tiny, w, batch);
      const single = await fullHessian(tiny, w, batch, { dtype: 'float32' });
      const reference = minimalRatio(hessianEigenvalues(double.matrix), { dtype: double.dtype });
      const result = minimalRatio(hessianEigenvalues(single.matrix), { dtype: single.dtype });
      assert.ok(reference.resolved && reference.ratio !== null);
      if (result.resolved) {
        assert.equal(result.ratio, reference.ratio, `seed ${seed}: float32 ${result.positive}/46, float64 ${reference.positive}/46`);
      } else {
        unresolvedSeen++;
        assert.equal(result.ratio, null);
        assert.ok(result.bounds[0] <= reference.ratio! && reference.ratio! <= result.bounds[1], `seed ${seed}: ${reference.ratio} in [${result.bounds}]`);
      }
    }
    assert.ok(unresolvedSeen > 0, 'these ReLU nets have eigenvalues float32 cannot resolve');
  });

  it('refuses a model above the parameter limit, naming the way out', async () => {
    await assert.rejects(fullHessian(tiny, weights, batch, { maxParameters: 10 }), /tiny-relu has 46 parameters, above the limit of 10.*topHessianEigenvalue/);
    await assert.rejects(fullHessian(classifier, new Map(), batchFor(classifier, 1, 1)), /26506 parameters, above the limit of 5000/);
  });
});

describe('gradnorm_step.onnx: descent on ||grad L||^2', () => {
  it('lowers ||grad L||^2 over 20 SGD steps; objective = grad_norm^2; the update is -lr * H (2 grad)', async () => {
    const batch = batchFor(tiny, 20, 21);
    const lr = 0.05;
    const step = await program(gradNormStepGraph(tiny, sgd(), 'float64'), tiny, batch);
    const hvp = await program(hvpGraph(tiny, 'float64'), tiny, batch);
    const scalars = { lr: new ort.Tensor('float64', Float64Array.of(lr), []), step: new ort.Tensor('int64', BigInt64Array.of(1n), []) };
    let w = flat(tiny, initializeParameters(tiny, 4, 'float64'));
    const objectives: number[] = [];
    for (let k = 0; k < 20; k++) {
      const out = await step.run(w, scalars);
      const objective = scalar(out.objective);
      objectives.push(objective);
      assert.ok(Math.abs(objective - scalar(out.grad_norm) ** 2) <= 1e-14 * objective, `objective ${objective} vs grad_norm^2 ${scalar(out.grad_norm) ** 2}`);
      const next = collect(tiny, out, 'next.');
      if (k === 0) {
        const reference = await hvp.run(w, directionFeeds(tiny, new Float64Array(tiny.parameterCount)));
        const g = collect(tiny, reference, 'grad.');
        assert.ok(Math.abs(dot(g, g) - objective) <= 1e-14 * objective, 'objective is ||gradient.onnx||^2');
        assert.equal(scalar(out.loss), scalar(reference.loss));
        const twiceHg = collect(tiny, await hvp.run(w, directionFeeds(tiny, g.map((x) => 2 * x))), 'hvp.');
        const update = next.map((value, i) => (w[i]! - value) / lr);
        assert.ok(relativeDistance(update, twiceHg) < 1e-9, `(p - next) / lr vs 2 H g: ${relativeDistance(update, twiceHg).toExponential(2)}`);
      }
      w = next;
    }
    await step.release();
    await hvp.release();
    assert.ok(objectives.at(-1)! < 0.5 * objectives[0]!, `||grad||^2 from ${objectives[0]} to ${objectives.at(-1)}`);
  });
});

describe('gradnorm_steps.onnx: K steps on ||grad L||^2 in one call', () => {
  it('gives the same weights, Adam state and per-step norms as K gradnorm_step runs, bit for bit', async () => {
    const batch = batchFor(tiny, 20, 21);
    const optimizer = adam();
    const K = 7;
    const lrs = Array.from({ length: K }, (_, k) => 0.01 / (k + 1));
    const single = await program(gradNormStepGraph(tiny, optimizer, 'float64'), tiny, batch);
    const several = await program(gradNormStepsGraph(tiny, optimizer, 'float64'), tiny, batch);
    const layout = parameterLayout(tiny);
    const zeroState = () =>
      Object.fromEntries(
        layout.flatMap((s) => optimizer.stateSlots.map((slot) => [`state.${s.name}.${slot}`, new ort.Tensor('float64', new Float64Array(s.size), [...s.shape])])),
      );
    const w0 = flat(tiny, initializeParameters(tiny, 4, 'float64'));

    let w = w0;
    let state: Record<string, ort.Tensor> = zeroState();
    const norms: number[] = [];
    for (let k = 0; k < K; k++) {
      const out = await single.run(w, {
        ...state,
        lr: new ort.Tensor('float64', Float64Array.of(lrs[k]!), []),
        step: new ort.Tensor('int64', BigInt64Array.of(BigInt(k + 1)), []),
      });
      norms.push(scalar(out.grad_norm));
      w = collect(tiny, out, 'next.');
      state = Object.fromEntries(Object.keys(state).map((name) => [name, out[`next.${name}`]!]));
    }
    const out = await several.run(w0, {
      ...zeroState(),
      lr: new ort.Tensor('float64', Float64Array.from(lrs), [K]),
      step: new ort.Tensor('int64', BigInt64Array.of(1n), []),
    });
    assert.deepEqual(Array.from(out.grad_norm!.data as Float64Array), norms);
    assert.deepEqual(Array.from(collect(tiny, out, 'next.')), Array.from(w));
    for (const name of Object.keys(state)) assert.deepEqual(Array.from(out[`next.${name}`]!.data as Float64Array), Array.from(state[name]!.data as Float64Array), name);
    assert.ok(norms.at(-1)! < norms[0]!, `the gradient norm falls: ${norms[0]} -> ${norms.at(-1)}`);
    await single.release();
    await several.release();
  });
});

describe('input_grad.onnx and jacobian.onnx: derivatives with respect to the input', () => {
  for (const [model, n] of [
    [classifier, 6],
    [funcDeep, 16],
  ] as const) {
    it(`grad.x of ${model.name} matches central differences of its loss along a random input direction`, async () => {
      const batch = batchFor(model, n, 8);
      const w = flat(model, initializeParameters(model, 3, 'float64'));
      const session = await program(inputGradGraph(model, 'float64'), model, batch);
      const out = await session.run(w);
      const gx = out['grad.x']!;
      assert.deepEqual(gx.dims, [n, ...model.inputShape]);
      const u = randomVector(batch.x.length, 12);
      const analytic = dot(gx.data as Float64Array, u);
      const h = 1e-5;
      const numeric = (scalar((await session.run(w, {}, axpy(h, u, batch.x))).loss) - scalar((await session.run(w, {}, axpy(-h, u, batch.x))).loss)) / (2 * h);
      assert.ok(Math.abs(analytic - numeric) < 1e-6 * Math.abs(numeric), `analytic ${analytic} vs numeric ${numeric}`);
      assert.ok(Math.abs(scalar(out.sensitivity) - norm(gx.data as Float64Array)) < 1e-14 * scalar(out.sensitivity), 'sensitivity = ||grad.x||_F');
      const gradient = await program(gradientGraph(model, 'float64'), model, batch);
      assert.equal(scalar(out.loss), scalar((await gradient.run(w)).loss), 'the mean loss of gradient.onnx');
      await gradient.release();
      await session.release();
    });
  }

  it('jacobian rows of mnist-dnn-small match central differences of the probabilities; norms are Frobenius norms', async () => {
    const model = classifier;
    const n = 4;
    const classes = model.outputShape[0]!;
    const batch = batchFor(model, n, 8);
    const width = batch.x.length / n;
    const w = flat(model, initializeParameters(model, 3, 'float64'));
    const session = await program(jacobianGraph(model, 'float64'), model, batch);
    const out = await session.run(w);
    const J = out.jacobian!.data as Float64Array;
    assert.deepEqual(out.jacobian!.dims, [n, classes, ...model.inputShape]);
    const u = randomVector(batch.x.length, 13);
    const h = 1e-5;
    const plus = (await session.run(w, {}, axpy(h, u, batch.x))).probabilities!.data as Float64Array;
    const minus = (await session.run(w, {}, axpy(-h, u, batch.x))).probabilities!.data as Float64Array;
    const analytic = new Float64Array(n * classes);
    for (let e = 0; e < n; e++) {
      for (let c = 0; c < classes; c++) {
        let sum = 0;
        for (let k = 0; k < width; k++) sum += J[(e * classes + c) * width + k]! * u[e * width + k]!;
        analytic[e * classes + c] = sum;
      }
    }
    const numeric = plus.map((p, i) => (p - minus[i]!) / (2 * h));
    assert.ok(relativeDistance(analytic, numeric) < 1e-6, `J u vs finite difference: ${relativeDistance(analytic, numeric).toExponential(2)}`);
    // Probabilities sum to 1, so every column of each example's Jacobian sums to 0 over the classes.
    const largest = J.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (let e = 0; e < n; e++) {
      for (let k = 0; k < width; k++) {
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += J[(e * classes + c) * width + k]!;
        assert.ok(Math.abs(sum) < 1e-12 * largest, `sum over classes ${sum}`);
      }
    }
    const perExample = out.jacobian_norm_per_example!.data as Float64Array;
    for (let e = 0; e < n; e++) {
      const expected = norm(J.subarray(e * classes * width, (e + 1) * classes * width));
      assert.ok(Math.abs(perExample[e]! - expected) < 1e-13 * expected);
    }
    assert.ok(Math.abs(scalar(out.jacobian_norm) - norm(J)) < 1e-13 * norm(J));
    await session.release();
  });

  it('refuses a Jacobian of class probabilities for a regression model', () => {
    assert.throws(() => jacobianGraph(funcDeep), /func-deep is a regression model/);
  });
});

describe('the emitted second-order graphs', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'hw1-second-order-'));
  after(() => rmSync(outDir, { recursive: true, force: true }));
  const models = modelDeclarations.map(resolveModel);
  for (const model of models) writeModelPrograms(model, outDir);
  writeModelPrograms(funcDeep, join(outDir, 'float64'), { dtype: 'float64', optimizer: sgd({ momentum: 0.9 }) });

  it('are written and listed in the manifest with their inputs and outputs (jacobian for classifiers only)', () => {
    for (const model of models) {
      const manifest = JSON.parse(readFileSync(join(outDir, model.name, 'manifest.json'), 'utf8')) as Manifest;
      const expected = [
        'hvp',
        'power_iteration',
        'gradnorm_step',
        'gradnorm_steps',
        'input_grad',
        ...(model.task === 'classification' ? ['jacobian'] : []),
        ...(model.parameterCount <= 5000 ? ['hessian'] : []),
      ];
      for (const key of expected) {
        assert.ok(readdirSync(join(outDir, model.name)).includes(`${key}.onnx`), `${model.name}/${key}.onnx`);
        assert.equal(manifest.graphs[key]?.file, `${key}.onnx`);
      }
      assert.equal('jacobian' in manifest.graphs, model.task === 'classification');
      const names = model.parameters.map((p) => p.name);
      assert.equal('hessian' in manifest.graphs, model.parameterCount <= 5000);
      if (manifest.graphs.hessian) assert.deepEqual(manifest.graphs.hessian.outputs, ['loss', 'hessian']);
      assert.deepEqual(manifest.graphs.power_iteration!.inputs, ['x', ...names, 'target', 'v0', 'iterations', 'tolerance']);
      assert.deepEqual(manifest.graphs.power_iteration!.outputs, [
        'loss',
        'eigenvalue',
        'vector',
        'relative_residual',
        'estimates',
        'relative_changes',
        'relative_residuals',
        'product_norms',
      ]);
      assert.deepEqual(manifest.graphs.hvp!.inputs, ['x', ...names, 'target', ...names.map((p) => `v.${p}`)]);
      assert.deepEqual(manifest.graphs.hvp!.outputs, ['loss', ...names.map((p) => `grad.${p}`), ...names.map((p) => `hvp.${p}`)]);
      const slots = manifest.optimizer.stateSlots;
      assert.deepEqual(manifest.graphs.gradnorm_step!.inputs, manifest.graphs.train_step!.inputs);
      assert.deepEqual(manifest.graphs.gradnorm_step!.outputs, [
        'loss',
        'grad_norm',
        'objective',
        ...names.flatMap((p) => [`next.${p}`, ...slots.map((s) => `next.state.${p}.${s}`)]),
      ]);
      assert.deepEqual(manifest.graphs.gradnorm_steps!.inputs, manifest.graphs.train_step!.inputs);
      assert.deepEqual(manifest.graphs.gradnorm_steps!.outputs, manifest.graphs.gradnorm_step!.outputs);
      assert.deepEqual(manifest.graphs.input_grad!.outputs, ['loss', 'grad.x', 'sensitivity']);
      if (model.task === 'classification') {
        assert.deepEqual(manifest.graphs.jacobian!.inputs, ['x', ...names]);
        assert.deepEqual(manifest.graphs.jacobian!.outputs, ['probabilities', 'jacobian', 'jacobian_norm', 'jacobian_norm_per_example']);
      }
    }
  });

  it('pass the official ONNX checker with full shape inference', { skip: onnxCheckerVersion() ? false : CHECKER_SKIP_REASON }, () => {
    const files = readdirSync(outDir, { recursive: true })
      .map(String)
      .filter((f) => /(^|\/)(hvp|hessian|power_iteration|gradnorm_steps?|input_grad|jacobian)\.onnx$/.test(f))
      .map((f) => join(outDir, f));
    const small = [...models, funcDeep].filter((m) => m.parameterCount <= 5000).length;
    assert.equal(files.length, 5 * models.length + models.filter((m) => m.task === 'classification').length + 5 + small);
    assert.deepEqual(checkOnnxFiles(files), []);
  });
});
