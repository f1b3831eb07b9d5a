import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { cast } from '../../src/ir/ops.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { adam } from '../../src/optim/adam.ts';
import { optimizerByName } from '../../src/optim/index.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { createSession } from '../../src/runtime/session.ts';
import { UserError } from '../../src/util/errors.ts';
import { Random } from '../../src/util/random.ts';

// The optimizer graphs against PyTorch's update rules (torch.optim.SGD and
// torch.optim.Adam documentation, single-tensor "for-loop" implementation),
// re-written below in plain float64 JavaScript, independently of src/optim.

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

// ------------------------------------------------------------------ the graph under test

const SHAPES: number[][] = [
  [3, 2],
  [4],
];
const NAMES = ['w', 'b'];
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A float64 graph with inputs w [3,2], b [4], grad.w, grad.b, state.<p>.<slot>,
 * lr (float64 scalar) and step (int64 scalar, cast to float64 for update);
 * outputs next.<p> and next.state.<p>.<slot>.
 */
function optimizerGraph(optimizer: Optimizer, shapes = SHAPES, names = NAMES): Graph {
  const graph = new Graph(`optimizer-${optimizer.name}`);
  const params = names.map((name, i) => graph.addInput(name, 'float64', shapes[i]!));
  const grads = names.map((name, i) => graph.addInput(`grad.${name}`, 'float64', shapes[i]!));
  const states = names.map((name, i) => {
    const slots = new Map<string, Value>();
    for (const slot of optimizer.stateSlots) slots.set(slot, graph.addInput(`state.${name}.${slot}`, 'float64', shapes[i]!));
    return slots;
  });
  const lr = graph.addInput('lr', 'float64', []);
  const step = graph.addInput('step', 'int64', []);
  const updated = optimizer.update(
    names.map((name, i) => ({ name, param: params[i]!, grad: grads[i]!, state: states[i]! })),
    lr,
    cast(step, 'float64', { name: 'step_float' }),
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
  const graphStates = SHAPES.map((shape) => new Map(optimizer.stateSlots.map((slot) => [slot, new Float64Array(sizeOf(shape))])));
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

describe('optimizer construction', () => {
  it('SGD with Nesterov needs momentum (and zero dampening), as in PyTorch', () => {
    assert.throws(() => sgd({ nesterov: true }), /Nesterov/);
    assert.throws(() => sgd({ nesterov: true, momentum: 0.9, dampening: 0.1 }), /Nesterov/);
    assert.doesNotThrow(() => sgd({ nesterov: true, momentum: 0.9 }));
  });

  it('optimizerByName rejects an unknown name with a UserError naming the choices', () => {
    assert.throws(
      () => optimizerByName('rmsprop'),
      (error: unknown) => {
        assert.ok(error instanceof UserError, 'a UserError');
        assert.match(error.message, /rmsprop/);
        assert.match(error.message, /sgd/);
        assert.match(error.message, /adam/);
        return true;
      },
    );
    assert.equal(optimizerByName('sgd').name, 'sgd');
    assert.equal(optimizerByName('adam', { amsgrad: true }).name, 'adam');
  });

  it('refuses an option the optimizer does not have, instead of ignoring it', () => {
    assert.throws(() => optimizerByName('adam', { momentum: 0.9 }), (e: Error) => e instanceof UserError && /momentum does not apply to adam/.test(e.message));
    assert.equal(optimizerByName('sgd', { momentum: 0.9, weight_decay: undefined }).config.weight_decay, 0);
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
  });

  it('a graph of SGD without momentum has no state inputs or outputs', () => {
    const graph = optimizerGraph(sgd());
    assert.deepEqual(graph.inputs.map((v) => v.name), ['w', 'b', 'grad.w', 'grad.b', 'lr', 'step']);
    assert.deepEqual(graph.outputs.map((o) => o.name), ['next.w', 'next.b']);
  });
});
