import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { sampleFunction } from '../../src/data/functions.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { adadelta } from '../../src/optim/adadelta.ts';
import { adagrad } from '../../src/optim/adagrad.ts';
import { adam } from '../../src/optim/adam.ts';
import { adamw } from '../../src/optim/adamw.ts';
import { OPTIMIZER_NAMES, optimizerByName } from '../../src/optim/index.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { rmsprop } from '../../src/optim/rmsprop.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { UserError } from '../../src/util/errors.ts';
import { Random } from '../../src/util/random.ts';

// The optimizer graphs against PyTorch's update rules (torch.optim.SGD, Adam,
// AdamW, RMSprop, Adagrad and Adadelta documentation, single-tensor "for-loop"
// implementation), re-written below in plain float64 JavaScript, independently
// of src/optim.

type Tensor = Float64Array;
type State = Record<string, Tensor>;

/** One parameter in the JavaScript reference: its value and its state slots (absent = never set). */
interface RefParam {
  p: Tensor;
  state: State;
}

interface SgdRef {
  momentum?: number;
  dampening?: number;
  weight_decay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD, one step on one parameter. */
function sgdReference(cfg: SgdRef, param: RefParam, grad: Tensor, lr: number): void {
  const momentum = cfg.momentum ?? 0;
  const dampening = cfg.dampening ?? 0;
  const wd = cfg.weight_decay ?? 0;
  const n = param.p.length;
  // d_p = grad + weight_decay * p
  const dp = Float64Array.from(grad, (g, i) => (wd !== 0 ? g + wd * param.p[i]! : g));
  if (momentum !== 0) {
    let buf = param.state.momentum_buffer;
    if (buf === undefined) {
      buf = Float64Array.from(dp); // first step: buf = clone(d_p), no dampening
    } else {
      for (let i = 0; i < n; i++) buf[i] = momentum * buf[i]! + (1 - dampening) * dp[i]!;
    }
    param.state.momentum_buffer = buf;
    for (let i = 0; i < n; i++) dp[i] = cfg.nesterov ? dp[i]! + momentum * buf[i]! : buf[i]!;
  }
  for (let i = 0; i < n; i++) param.p[i] = param.p[i]! - lr * dp[i]!;
}

interface AdamRef {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weight_decay?: number;
  amsgrad?: boolean;
}

/** torch.optim.Adam (L2 weight decay, not AdamW), one step t (1-based) on one parameter. */
function adamReference(cfg: AdamRef, param: RefParam, grad: Tensor, lr: number, t: number): void {
  const beta1 = cfg.beta1 ?? 0.9;
  const beta2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.weight_decay ?? 0;
  const n = param.p.length;
  const m = (param.state.exp_avg ??= new Float64Array(n));
  const v = (param.state.exp_avg_sq ??= new Float64Array(n));
  const vmax = cfg.amsgrad ? (param.state.max_exp_avg_sq ??= new Float64Array(n)) : undefined;
  const biasCorrection1 = 1 - Math.pow(beta1, t);
  const biasCorrection2 = 1 - Math.pow(beta2, t);
  const stepSize = lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  for (let i = 0; i < n; i++) {
    const g = wd !== 0 ? grad[i]! + wd * param.p[i]! : grad[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    let second = v[i]!;
    if (vmax) {
      vmax[i] = Math.max(vmax[i]!, v[i]!);
      second = vmax[i]!;
    }
    const denom = Math.sqrt(second) / biasCorrection2Sqrt + eps;
    param.p[i] = param.p[i]! - stepSize * (m[i]! / denom);
  }
}

interface AdamWRef {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weight_decay?: number;
  amsgrad?: boolean;
}

/** torch.optim.AdamW: p *= 1 - lr wd first, then Adam on the plain gradient; one step t (1-based). */
function adamwReference(cfg: AdamWRef, param: RefParam, grad: Tensor, lr: number, t: number): void {
  const beta1 = cfg.beta1 ?? 0.9;
  const beta2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.weight_decay ?? 0.01;
  const n = param.p.length;
  const m = (param.state.exp_avg ??= new Float64Array(n));
  const v = (param.state.exp_avg_sq ??= new Float64Array(n));
  const vmax = cfg.amsgrad ? (param.state.max_exp_avg_sq ??= new Float64Array(n)) : undefined;
  const stepSize = lr / (1 - Math.pow(beta1, t));
  const biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
  for (let i = 0; i < n; i++) {
    param.p[i] = param.p[i]! * (1 - lr * wd);
    const g = grad[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    if (vmax) vmax[i] = Math.max(vmax[i]!, v[i]!);
    const denom = Math.sqrt(vmax ? vmax[i]! : v[i]!) / biasCorrection2Sqrt + eps;
    param.p[i] = param.p[i]! - stepSize * (m[i]! / denom);
  }
}

interface AdagradRef {
  lr_decay?: number;
  weight_decay?: number;
  initial_accumulator_value?: number;
  eps?: number;
}

/** torch.optim.Adagrad, one step t (1-based): the sum starts at initial_accumulator_value. */
function adagradReference(cfg: AdagradRef, param: RefParam, grad: Tensor, lr: number, t: number): void {
  const lrDecay = cfg.lr_decay ?? 0;
  const wd = cfg.weight_decay ?? 0;
  const eps = cfg.eps ?? 1e-10;
  const n = param.p.length;
  const sum = (param.state.sum ??= new Float64Array(n).fill(cfg.initial_accumulator_value ?? 0));
  const clr = lr / (1 + (t - 1) * lrDecay);
  for (let i = 0; i < n; i++) {
    const g = wd !== 0 ? grad[i]! + wd * param.p[i]! : grad[i]!;
    sum[i] = sum[i]! + g * g;
    param.p[i] = param.p[i]! - (clr * g) / (Math.sqrt(sum[i]!) + eps);
  }
}

interface RmspropRef {
  alpha?: number;
  eps?: number;
  weight_decay?: number;
  momentum?: number;
  centered?: boolean;
}

/** torch.optim.RMSprop, one step on one parameter. */
function rmspropReference(cfg: RmspropRef, param: RefParam, grad: Tensor, lr: number): void {
  const alpha = cfg.alpha ?? 0.99;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.weight_decay ?? 0;
  const momentum = cfg.momentum ?? 0;
  const n = param.p.length;
  const squareAvg = (param.state.square_avg ??= new Float64Array(n));
  const gradAvg = cfg.centered ? (param.state.grad_avg ??= new Float64Array(n)) : undefined;
  const buf = momentum > 0 ? (param.state.momentum_buffer ??= new Float64Array(n)) : undefined;
  for (let i = 0; i < n; i++) {
    const g = wd !== 0 ? grad[i]! + wd * param.p[i]! : grad[i]!;
    squareAvg[i] = alpha * squareAvg[i]! + (1 - alpha) * g * g;
    let avg: number;
    if (gradAvg) {
      gradAvg[i] = alpha * gradAvg[i]! + (1 - alpha) * g;
      avg = Math.sqrt(squareAvg[i]! - gradAvg[i]! * gradAvg[i]!) + eps;
    } else {
      avg = Math.sqrt(squareAvg[i]!) + eps;
    }
    if (buf) {
      buf[i] = momentum * buf[i]! + g / avg;
      param.p[i] = param.p[i]! - lr * buf[i]!;
    } else {
      param.p[i] = param.p[i]! - (lr * g) / avg;
    }
  }
}

interface AdadeltaRef {
  rho?: number;
  eps?: number;
  weight_decay?: number;
}

/** torch.optim.Adadelta, one step on one parameter. */
function adadeltaReference(cfg: AdadeltaRef, param: RefParam, grad: Tensor, lr: number): void {
  const rho = cfg.rho ?? 0.9;
  const eps = cfg.eps ?? 1e-6;
  const wd = cfg.weight_decay ?? 0;
  const n = param.p.length;
  const squareAvg = (param.state.square_avg ??= new Float64Array(n));
  const accDelta = (param.state.acc_delta ??= new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const g = wd !== 0 ? grad[i]! + wd * param.p[i]! : grad[i]!;
    squareAvg[i] = rho * squareAvg[i]! + (1 - rho) * g * g;
    const std = Math.sqrt(squareAvg[i]! + eps);
    const delta = (Math.sqrt(accDelta[i]! + eps) / std) * g;
    accDelta[i] = rho * accDelta[i]! + (1 - rho) * delta * delta;
    param.p[i] = param.p[i]! - lr * delta;
  }
}

// ------------------------------------------------------------------ the graph under test

const SHAPES: number[][] = [
  [3, 2],
  [4],
];
const NAMES = ['w', 'b'];
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A graph (float64 unless told) with inputs w [3,2], b [4], grad.w, grad.b,
 * state.<p>.<slot>, lr (a scalar of the dtype) and step (int64 scalar);
 * outputs next.<p> and next.state.<p>.<slot>.
 */
function optimizerGraph(optimizer: Optimizer, shapes = SHAPES, names = NAMES, dtype: 'float32' | 'float64' = 'float64'): Graph {
  const graph = new Graph(`optimizer-${optimizer.name}`);
  const params = names.map((name, i) => graph.addInput(name, dtype, shapes[i]!));
  const grads = names.map((name, i) => graph.addInput(`grad.${name}`, dtype, shapes[i]!));
  const states = names.map((name, i) => {
    const slots = new Map<string, Value>();
    for (const slot of optimizer.stateSlots) slots.set(slot, graph.addInput(`state.${name}.${slot}`, dtype, shapes[i]!));
    return slots;
  });
  const lr = graph.addInput('lr', dtype, []);
  const step = graph.addInput('step', 'int64', []);
  const updated = optimizer.update(
    names.map((name, i) => ({ name, param: params[i]!, grad: grads[i]!, state: states[i]! })),
    lr,
    step,
  );
  names.forEach((name, i) => {
    graph.addOutput(`next.${name}`, updated[i]!.param);
    for (const slot of optimizer.stateSlots) graph.addOutput(`next.state.${name}.${slot}`, updated[i]!.state.get(slot)!);
  });
  return graph;
}

function assertClose(actual: Float64Array, expected: Float64Array, what: string, tolerance = 1e-12): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    worst = Math.max(worst, error);
  }
  assert.ok(worst < tolerance, `${what}: max error ${worst.toExponential(3)} >= ${tolerance} (got ${[...actual]}, expected ${[...expected]})`);
}

interface Case {
  title: string;
  optimizer: Optimizer;
  reference: (param: RefParam, grad: Tensor, lr: number, t: number) => void;
  lrs: number[];
  /** Multiplies step t's random gradients: a small one makes exp_avg_sq shrink, so AMSGrad's max matters. */
  gradScales?: number[];
  /** Scales the random initial parameters (so weight decay does not dominate small gradients). */
  paramScale?: number;
}

/**
 * Three steps from zero state, each with new random gradients: every graph
 * output feeds the next step, the reference keeps its own state.
 */
async function runCase({ optimizer, reference, lrs, gradScales, paramScale = 1 }: Case, seed: number): Promise<void> {
  const random = new Random(seed);
  const session = await createSession(serializeGraph(optimizerGraph(optimizer)), { threads: 1 });
  const graphParams = SHAPES.map((shape) => Float64Array.from({ length: sizeOf(shape) }, () => paramScale * random.uniform(-1, 1)));
  // The graph's state starts where the optimizer says (as the Trainer does); the reference starts its own.
  const graphStates = SHAPES.map(
    (shape) => new Map(optimizer.stateSlots.map((slot) => [slot, new Float64Array(sizeOf(shape)).fill(optimizer.initialState?.[slot] ?? 0)])),
  );
  const refs: RefParam[] = graphParams.map((p) => ({ p: Float64Array.from(p), state: {} }));
  let moved = 0;
  let maxKept = false;
  for (let t = 1; t <= lrs.length; t++) {
    const lr = lrs[t - 1]!;
    const scale = gradScales?.[t - 1] ?? 1;
    const grads = SHAPES.map((shape) => Float64Array.from({ length: sizeOf(shape) }, () => scale * random.uniform(-1, 1)));
    const feeds: Record<string, ort.Tensor> = {
      lr: new ort.Tensor('float64', Float64Array.of(lr), []),
      step: new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), []),
    };
    NAMES.forEach((name, i) => {
      feeds[name] = new ort.Tensor('float64', graphParams[i]!, SHAPES[i]!);
      feeds[`grad.${name}`] = new ort.Tensor('float64', grads[i]!, SHAPES[i]!);
      for (const [slot, value] of graphStates[i]!) feeds[`state.${name}.${slot}`] = new ort.Tensor('float64', value, SHAPES[i]!);
    });
    const out = await session.run(feeds);
    NAMES.forEach((name, i) => {
      const before = Float64Array.from(refs[i]!.p);
      reference(refs[i]!, grads[i]!, lr, t);
      refs[i]!.p.forEach((value, j) => (moved = Math.max(moved, Math.abs(value - before[j]!))));
      const { max_exp_avg_sq: vmax, exp_avg_sq: v } = refs[i]!.state;
      if (vmax && v && vmax.some((m, j) => m > v[j]!)) maxKept = true;
      const next = out[`next.${name}`]!.data as Float64Array;
      assert.deepEqual(out[`next.${name}`]!.dims, SHAPES[i]!);
      assertClose(next, refs[i]!.p, `step ${t}, ${name}`);
      graphParams[i] = Float64Array.from(next);
      for (const slot of optimizer.stateSlots) {
        const nextState = out[`next.state.${name}.${slot}`]!.data as Float64Array;
        assertClose(nextState, refs[i]!.state[slot]!, `step ${t}, state ${slot} of ${name}`);
        graphStates[i]!.set(slot, Float64Array.from(nextState));
      }
    });
  }
  // The comparison means something only if the parameters did move.
  assert.ok(moved > 1e-4, `parameters moved by ${moved}`);
  // ... and AMSGrad's only if its running maximum differs from exp_avg_sq at some step.
  if (optimizer.stateSlots.includes('max_exp_avg_sq')) assert.ok(maxKept, 'max_exp_avg_sq exceeds exp_avg_sq somewhere');
  await session.release();
}

/** The options actually given: an explicit undefined would replace the default in sgd()/adam(). */
const definedOnly = <T extends object>(cfg: T): Partial<T> =>
  Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as Partial<T>;

const sgdCase = (title: string, cfg: SgdRef, lrs = [0.1, 0.1, 0.1]): Case => ({
  title,
  optimizer: sgd(definedOnly(cfg)),
  reference: (param, grad, lr) => sgdReference(cfg, param, grad, lr),
  lrs,
});

const adamCase = (title: string, cfg: AdamRef, lrs = [0.01, 0.01, 0.01], more: Partial<Case> = {}): Case => ({
  title,
  ...more,
  optimizer: adam(definedOnly(cfg)),
  reference: (param, grad, lr, t) => adamReference(cfg, param, grad, lr, t),
  lrs,
});

const adamwCase = (title: string, cfg: AdamWRef, more: Partial<Case> = {}): Case => ({
  title,
  lrs: [0.01, 0.01, 0.01],
  ...more,
  optimizer: adamw(definedOnly(cfg)),
  reference: (param, grad, lr, t) => adamwReference(cfg, param, grad, lr, t),
});

const adagradCase = (title: string, cfg: AdagradRef, lrs = [0.01, 0.01, 0.01]): Case => ({
  title,
  optimizer: adagrad(definedOnly(cfg)),
  reference: (param, grad, lr, t) => adagradReference(cfg, param, grad, lr, t),
  lrs,
});

const rmspropCase = (title: string, cfg: RmspropRef, lrs = [0.01, 0.01, 0.01]): Case => ({
  title,
  optimizer: rmsprop(definedOnly(cfg)),
  reference: (param, grad, lr) => rmspropReference(cfg, param, grad, lr),
  lrs,
});

const adadeltaCase = (title: string, cfg: AdadeltaRef, lrs = [1, 1, 1]): Case => ({
  title,
  optimizer: adadelta(definedOnly(cfg)),
  reference: (param, grad, lr) => adadeltaReference(cfg, param, grad, lr),
  lrs,
});

const CASES: Case[] = [
  sgdCase('SGD, plain', {}),
  sgdCase('SGD, momentum 0.9', { momentum: 0.9 }),
  sgdCase('SGD, momentum 0.9, dampening 0.1 (first buffer = grad, undampened)', { momentum: 0.9, dampening: 0.1 }),
  sgdCase('SGD, Nesterov momentum 0.9, weight_decay 0.01', { momentum: 0.9, nesterov: true, weight_decay: 0.01 }),
  adamCase('Adam, defaults', {}),
  adamCase('Adam, weight_decay 0.1 and AMSGrad (small gradients after step 1)', { weight_decay: 0.1, amsgrad: true }, [0.01, 0.01, 0.01], {
    gradScales: [1, 0.001, 0.001],
    paramScale: 0.01,
  }),
  adamCase('Adam, lr changed every step (lr is an input)', {}, [0.1, 0.03, 0.007]),
  sgdCase('SGD momentum 0.9, lr changed every step', { momentum: 0.9 }, [0.5, 0.2, 0.05]),
  adamwCase('AdamW, defaults (decoupled weight_decay 0.01)', {}),
  adamwCase('AdamW, weight_decay 0.1 and AMSGrad (small gradients after step 1)', { weight_decay: 0.1, amsgrad: true }, { gradScales: [1, 0.001, 0.001] }),
  rmspropCase('RMSprop, defaults', {}),
  rmspropCase('RMSprop, centered, momentum 0.9, weight_decay 0.1', { centered: true, momentum: 0.9, weight_decay: 0.1 }),
  adagradCase('Adagrad, defaults', {}),
  adagradCase('Adagrad, lr_decay 0.5, initial_accumulator_value 0.1, weight_decay 0.1', { lr_decay: 0.5, initial_accumulator_value: 0.1, weight_decay: 0.1 }, [0.1, 0.1, 0.1]),
  adadeltaCase('Adadelta, defaults', {}),
  adadeltaCase('Adadelta, weight_decay 0.1', { weight_decay: 0.1 }),
];

describe('optimizer graphs match PyTorch update rules over 3 steps (float64)', () => {
  for (const testCase of CASES) {
    it(testCase.title, async () => {
      for (const seed of [1, 2]) await runCase(testCase, seed);
    });
  }

  it('Adam step 1 with g = 0.5, lr = 0.1 moves p by -0.1 / (1 + 2e-8), about -0.1', async () => {
    // On paper, step t = 1, defaults beta1 = 0.9, beta2 = 0.999, eps = 1e-8, m0 = v0 = 0:
    //   m1 = 0.1 * 0.5 = 0.05,  v1 = 0.001 * 0.5^2 = 0.00025,
    //   bias_correction1 = 1 - 0.9 = 0.1,  bias_correction2 = 1 - 0.999 = 0.001,
    //   step_size = lr / bias_correction1 = 0.1 / 0.1 = 1,
    //   denom = sqrt(0.00025) / sqrt(0.001) + 1e-8 = sqrt(0.25) + 1e-8 = 0.5 + 1e-8,
    //   delta = -0.1 * (0.05 / 0.1) / (0.5 + 1e-8) = -0.05 / (0.5 + 1e-8) = -0.1 / (1 + 2e-8)
    //         = -0.099999998000000004 (≈ -0.1 + 2e-9).
    // Adam's first step is lr * sign(g) whatever |g| is (up to eps).
    const graph = optimizerGraph(adam(), [[1]], ['p']);
    const session = await createSession(serializeGraph(graph), { threads: 1 });
    const p0 = 0.3;
    const out = await session.run({
      p: new ort.Tensor('float64', Float64Array.of(p0), [1]),
      'grad.p': new ort.Tensor('float64', Float64Array.of(0.5), [1]),
      'state.p.exp_avg': new ort.Tensor('float64', Float64Array.of(0), [1]),
      'state.p.exp_avg_sq': new ort.Tensor('float64', Float64Array.of(0), [1]),
      lr: new ort.Tensor('float64', Float64Array.of(0.1), []),
      step: new ort.Tensor('int64', BigInt64Array.of(1n), []),
    });
    const delta = (out['next.p']!.data as Float64Array)[0]! - p0;
    const onPaper = -0.1 / (1 + 2e-8);
    assert.ok(Math.abs(delta - onPaper) < 1e-14, `delta ${delta} vs ${onPaper}`);
    assert.ok(Math.abs(delta - -0.1) < 3e-9 && Math.abs(delta - -0.1) > 1e-9, `delta ${delta} is -0.1 + 2e-9`);
    assert.ok(Math.abs((out['next.state.p.exp_avg']!.data as Float64Array)[0]! - 0.05) < 1e-15);
    assert.ok(Math.abs((out['next.state.p.exp_avg_sq']!.data as Float64Array)[0]! - 0.00025) < 1e-17);
    await session.release();
  });
});

/** torch.optim's float32 and float64 trajectories on a constant gradient (test/fixtures/generate_optimizer_reference.py). */
const torchTrajectories = JSON.parse(readFileSync(new URL('../fixtures/optimizer-reference.json', import.meta.url), 'utf8')) as {
  lr: number;
  steps: number;
  gradient: number[];
  cases: { name: string; float32: number[][]; float64: number[][] }[];
};

describe('float32 optimizer graphs are as close to float64 as PyTorch float32 is', () => {
  const optimizers: Record<string, Optimizer> = {
    adam: adam(),
    'adam-l2': adam({ weight_decay: 0.1 }),
    adamw: adamw(),
    'adamw-amsgrad': adamw({ weight_decay: 0.05, amsgrad: true }),
    'adagrad-lr-decay': adagrad({ lr_decay: 0.3 }),
  };
  /** The largest distance of a float32 trajectory from PyTorch's float64 one, max-norm relative to the step's max-norm. */
  const distance = (trajectory: ArrayLike<number>[], reference: number[][]) =>
    Math.max(
      ...reference.map((step, t) => Math.max(...step.map((value, i) => Math.abs(trajectory[t]![i]! - value))) / Math.max(...step.map(Math.abs))),
    );

  for (const { name, float32, float64 } of torchTrajectories.cases) {
    it(`${name}: ${torchTrajectories.steps} steps at lr ${torchTrajectories.lr} on a constant gradient`, async () => {
      const optimizer = optimizers[name]!;
      const shape = [torchTrajectories.gradient.length];
      const session = await createSession(serializeGraph(optimizerGraph(optimizer, [shape], ['w'], 'float32')), { threads: 1 });
      let w = new Float32Array(shape[0]!);
      const state = new Map(optimizer.stateSlots.map((slot) => [slot, new Float32Array(shape[0]!).fill(optimizer.initialState?.[slot] ?? 0)]));
      const trajectory: Float32Array[] = [];
      for (let t = 1; t <= torchTrajectories.steps; t++) {
        const feeds: Record<string, ort.Tensor> = {
          w: new ort.Tensor('float32', w, shape),
          'grad.w': new ort.Tensor('float32', Float32Array.from(torchTrajectories.gradient), shape),
          lr: new ort.Tensor('float32', Float32Array.of(torchTrajectories.lr), []),
          step: new ort.Tensor('int64', BigInt64Array.of(BigInt(t)), []),
        };
        for (const [slot, value] of state) feeds[`state.w.${slot}`] = new ort.Tensor('float32', value, shape);
        const out = await session.run(feeds);
        w = Float32Array.from(out['next.w']!.data as Float32Array);
        for (const slot of optimizer.stateSlots) state.set(slot, Float32Array.from(out[`next.state.w.${slot}`]!.data as Float32Array));
        trajectory.push(w);
      }
      await session.release();
      const ours = distance(trajectory, float64);
      const pytorch = distance(float32, float64);
      assert.ok(pytorch > 0 && pytorch < 1e-6, `PyTorch float32 is ${pytorch.toExponential(2)} from float64`);
      assert.ok(ours <= 2 * pytorch, `hw1-onnx float32 is ${ours.toExponential(2)} from PyTorch float64, PyTorch float32 ${pytorch.toExponential(2)}`);
    });
  }
});

describe('optimizer construction', () => {
  it('SGD with Nesterov needs momentum (and zero dampening), as in PyTorch', () => {
    assert.throws(() => sgd({ nesterov: true }), /Nesterov/);
    assert.throws(() => sgd({ nesterov: true, momentum: 0.9, dampening: 0.1 }), /Nesterov/);
    assert.doesNotThrow(() => sgd({ nesterov: true, momentum: 0.9 }));
  });

  it('optimizerByName rejects an unknown name with a UserError naming the choices', () => {
    assert.throws(
      () => optimizerByName('lbfgs'),
      (error: unknown) => {
        assert.ok(error instanceof UserError, 'a UserError');
        assert.match(error.message, /lbfgs/);
        for (const name of ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta']) assert.match(error.message, new RegExp(`\\b${name}\\b`));
        return true;
      },
    );
    for (const name of OPTIMIZER_NAMES) assert.equal(optimizerByName(name).name, name);
    assert.equal(optimizerByName('adam', { amsgrad: true }).name, 'adam');
    assert.equal(optimizerByName('rmsprop', { momentum: 0.9 }).config.momentum, 0.9);
  });

  it('refuses an option the optimizer does not have, instead of ignoring it', () => {
    assert.throws(() => optimizerByName('adam', { momentum: 0.9 }), (e: Error) => e instanceof UserError && /momentum does not apply to adam/.test(e.message));
    assert.equal(optimizerByName('sgd', { momentum: 0.9, weight_decay: undefined }).config.weight_decay, 0);
    assert.throws(() => optimizerByName('adagrad', { momentum: 1 }), (e: Error) => e instanceof UserError && /momentum does not apply to adagrad/.test(e.message));
    assert.equal(optimizerByName('adagrad', { weight_decay: 0.1 }).config.weight_decay, 0.1);
  });

  it('keeps a default when an option is given as undefined', () => {
    assert.deepEqual(sgd({ momentum: undefined }).stateSlots, []);
    assert.equal(adam({ eps: undefined }).config.eps, 1e-8);
  });

  it('has PyTorch\'s state slots and defaults', () => {
    assert.deepEqual(sgd().stateSlots, []);
    assert.deepEqual(sgd({ momentum: 0.9 }).stateSlots, ['momentum_buffer']);
    assert.deepEqual(adam().stateSlots, ['exp_avg', 'exp_avg_sq']);
    assert.deepEqual(adam({ amsgrad: true }).stateSlots, ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    assert.deepEqual(sgd().config, { momentum: 0, dampening: 0, weight_decay: 0, nesterov: false });
    assert.deepEqual(adam().config, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false });
    assert.deepEqual(adamw().config, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: false });
    assert.deepEqual(adamw({ amsgrad: true }).stateSlots, ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    assert.deepEqual(rmsprop().config, { alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false });
    assert.deepEqual(rmsprop().stateSlots, ['square_avg']);
    assert.deepEqual(rmsprop({ momentum: 0.9, centered: true }).stateSlots, ['square_avg', 'momentum_buffer', 'grad_avg']);
    assert.deepEqual(adagrad().config, { lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10 });
    assert.deepEqual(adagrad().stateSlots, ['sum']);
    assert.deepEqual(adagrad({ initial_accumulator_value: 0.1 }).initialState, { sum: 0.1 });
    assert.deepEqual(adadelta().config, { rho: 0.9, eps: 1e-6, weight_decay: 0 });
    assert.deepEqual(adadelta().stateSlots, ['square_avg', 'acc_delta']);
  });

  it("records PyTorch's default learning rate (SGD: 1e-3, PyTorch's since 2.2)", () => {
    const defaults = Object.fromEntries(OPTIMIZER_NAMES.map((name) => [name, optimizerByName(name).defaultLr]));
    assert.deepEqual(defaults, { sgd: 1e-3, adam: 1e-3, adamw: 1e-3, rmsprop: 1e-2, adagrad: 1e-2, adadelta: 1.0 });
  });

  it('refuses hyper-parameters PyTorch refuses', () => {
    assert.throws(() => adagrad({ initial_accumulator_value: -1 }), /initial_accumulator_value/);
    assert.throws(() => adagrad({ lr_decay: -0.1 }), /lr_decay/);
    assert.throws(() => rmsprop({ alpha: -0.5 }), /alpha/);
    assert.throws(() => rmsprop({ momentum: -0.9 }), /momentum/);
    assert.throws(() => adadelta({ rho: 1.5 }), /rho/);
    assert.throws(() => adamw({ beta2: 1 }), /beta2/);
  });

  it('a graph of SGD without momentum has no state inputs or outputs', () => {
    const graph = optimizerGraph(sgd());
    assert.deepEqual(graph.inputs.map((v) => v.name), ['w', 'b', 'grad.w', 'grad.b', 'lr', 'step']);
    assert.deepEqual(graph.outputs.map((o) => o.name), ['next.w', 'next.b']);
  });
});

describe('Trainer and optimizer state', () => {
  it('starts Adagrad\'s sum at initial_accumulator_value: one float64 step matches the reference', async () => {
    const model = findModel('func-shallow');
    const data = sampleFunction('sinc', 16);
    const initial = initializeParameters(model, 3, 'float64');
    const oneStep = async (optimizer: Optimizer, lr: number) => {
      const trainer = await Trainer.create(model, optimizer, initial, { dtype: 'float64', threads: 1 });
      // One batch holding the whole set: one step, the same gradient whatever the optimizer.
      await trainer.trainEpoch(data, { batchSize: data.count, lr, random: new Random(1) });
      const weights = trainer.parameters();
      await trainer.release();
      return weights;
    };
    // SGD with lr 1 gives p - g, so the gradient at the initial weights is p0 - p1.
    const sgdStep = await oneStep(sgd(), 1);
    const lr = 0.5;
    const adagradStep = await oneStep(adagrad({ initial_accumulator_value: 0.1 }), lr);
    let fromZero = 0;
    for (const { name } of model.parameters) {
      const p0 = Float64Array.from(initial.get(name)!);
      const grad = Float64Array.from(p0, (p, i) => p - sgdStep.get(name)![i]!);
      const expected: RefParam = { p: Float64Array.from(p0), state: {} };
      adagradReference({ initial_accumulator_value: 0.1 }, expected, grad, lr, 1);
      assertClose(Float64Array.from(adagradStep.get(name)!), expected.p, name);
      // The test would notice a sum started at zero: that step is lr sign(g), far from this one.
      const zeroStart: RefParam = { p: Float64Array.from(p0), state: {} };
      adagradReference({}, zeroStart, grad, lr, 1);
      zeroStart.p.forEach((value, i) => (fromZero = Math.max(fromZero, Math.abs(value - expected.p[i]!))));
    }
    assert.ok(fromZero > 1e-3, `a zero start would differ by ${fromZero}`);
  });
});
