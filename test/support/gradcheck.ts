/**
 * check_grads in the style of JAX: compare the analytic directional
 * derivative <grad f, v> with a central finite difference along a random v,
 * in float64 graphs executed by onnxruntime. With order 2 the same is done for
 * the Hessian-vector product built by differentiating the gradient graph.
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { fixedFormulation, withConvFormulations, type ConvFormulation } from '../../src/autodiff/convFormulations.ts';
import { grad } from '../../src/autodiff/engine.ts';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { add, mul, reduceSum } from '../../src/ir/ops.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';

export interface InputSpec {
  shape: number[];
  /** Draws one element; default uniform in [-1, 1]. */
  sample?: (random: Random) => number;
}

export interface GradCheckResult {
  analytic: number;
  numeric: number;
  relativeError: number;
}

const relativeError = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

/**
 * build() maps float64 inputs to any float64 value; the checked scalar is
 * sum(build(...) * w) with a fixed random w, so every output element matters.
 */
export async function checkGradients(
  build: (...inputs: Value[]) => Value,
  specs: InputSpec[],
  options: { seed?: number; order?: 1 | 2; step?: number; tolerance?: number; wrt?: number[]; dtype?: 'float32' | 'float64'; convFormulation?: ConvFormulation } = {},
): Promise<GradCheckResult> {
  const random = new Random(options.seed ?? 7);
  const order = options.order ?? 1;
  // float32 runs for ops without float64 kernels (Conv, ConvTranspose, AveragePool):
  // a larger step balances truncation against round-off, and the bound is 1e-3.
  const dtype = options.dtype ?? 'float64';
  const single = dtype === 'float32';
  const step = options.step ?? (single ? 1e-2 : order === 1 ? 1e-5 : 1e-4);
  const tolerance = options.tolerance ?? (single ? 1e-3 : 1e-6);
  const TypedArray = single ? Float32Array : Float64Array;
  const wrtIndices = options.wrt ?? specs.map((_, i) => i);

  // The gradient graphs are built with the given convolution formulation in force (the fixed choice otherwise).
  const chooser = options.convFormulation ? () => options.convFormulation! : fixedFormulation;
  const { result: built } = withConvFormulations(chooser, () => {
    const graph = new Graph('gradcheck');
    const inputs = specs.map((spec, i) => graph.addInput(`x${i}`, dtype, spec.shape));
    const out = graph.withScope('forward', () => build(...inputs));
    const weights = Array.from({ length: out.shape.reduce<number>((a, d) => a * (d as number), 1) }, () => random.uniform(-1, 1));
    const objective = reduceSum(mul(out, graph.constant(dtype, out.shape as number[], weights)));
    const wrt = wrtIndices.map((i) => inputs[i]!);
    let gradients = grad(objective, wrt);
    let probe: Value = objective;
    let directions: Value[] = [];
    if (order === 2) {
      // s = <grad f, u> with a fixed u; grad s = H u, checked against finite differences of <grad f, u>.
      directions = wrt.map((x, i) => graph.addInput(`u${i}`, dtype, x.shape));
      probe = graph.withScope('probe', () => gradients.map((g, i) => reduceSum(mul(g, directions[i]!))).reduce((a, b) => add(a, b)));
      gradients = grad(probe, wrt, { scope: 'second' });
    }
    graph.addOutput('probe', probe);
    gradients.forEach((g, i) => graph.addOutput(`grad${i}`, g));
    return { graph, wrt, directions, gradients };
  });
  const { graph, wrt, directions, gradients } = built;
  const session = await createSession(serializeGraph(graph), { threads: 1 });

  const point = specs.map((spec) => Float64Array.from({ length: size(spec.shape) }, () => (spec.sample ?? ((r) => r.uniform(-1, 1)))(random)));
  const u = wrt.map((x) => Float64Array.from({ length: size(x.shape as number[]) }, () => random.uniform(-1, 1)));
  const v = wrt.map((x) => Float64Array.from({ length: size(x.shape as number[]) }, () => random.uniform(-1, 1)));

  const run = async (offset: number) => {
    const feeds: Record<string, ort.Tensor> = {};
    specs.forEach((spec, i) => {
      const data = Float64Array.from(point[i]!);
      const k = wrtIndices.indexOf(i);
      if (k >= 0) for (let j = 0; j < data.length; j++) data[j]! += offset * v[k]![j]!;
      feeds[`x${i}`] = new ort.Tensor(dtype, TypedArray.from(data), spec.shape);
    });
    directions.forEach((_, k) => (feeds[`u${k}`] = new ort.Tensor(dtype, TypedArray.from(u[k]!), specs[wrtIndices[k]!]!.shape)));
    return session.run(feeds);
  };

  const center = await run(0);
  let analytic = 0;
  gradients.forEach((_, k) => {
    const g = center[`grad${k}`]!.data as Float64Array | Float32Array;
    assert.equal(g.length, v[k]!.length, `gradient ${k} has the input's size`);
    for (let j = 0; j < g.length; j++) analytic += g[j]! * v[k]![j]!;
  });
  const plus = (await run(step)).probe!.data as Float64Array | Float32Array;
  const minus = (await run(-step)).probe!.data as Float64Array | Float32Array;
  const numeric = (plus[0]! - minus[0]!) / (2 * step);
  const error = relativeError(analytic, numeric);
  assert.ok(
    error < tolerance,
    `order-${order} directional derivative: analytic ${analytic} vs finite difference ${numeric} (relative error ${error.toExponential(2)} >= ${tolerance})`,
  );
  await session.release();
  return { analytic, numeric, relativeError: error };
}


function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Keeps samples away from 0 so ReLU and Where kinks are not straddled by the finite difference. */
export const awayFromZero = (random: Random) => (random.next() < 0.5 ? -1 : 1) * random.uniform(0.1, 1);
export const positive = (random: Random) => random.uniform(0.5, 2);
