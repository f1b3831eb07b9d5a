import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { hoistedLoop } from '../../src/ir/hoistedLoop.ts';
import { add, cast, exp, gemm, less, mul, reduceSum, scalarLike, tanh } from '../../src/ir/ops.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { Random } from '../../src/util/random.ts';

// hoistedLoop builds a Loop body as ordinary graph code and moves only the
// nodes that depend on the iteration or the carried values into the body.

async function run(graph: Graph, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(serializeGraph(graph), { intraOpNumThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const f64 = (data: number[], dims: number[]) => new ort.Tensor('float64', Float64Array.from(data), dims);
const values = (tensor: ort.Tensor | undefined) => Array.from(tensor!.data as Float64Array);

describe('hoistedLoop', () => {
  it('runs the invariant part once, outside the body, with the same results as the loop written out', async () => {
    // s <- s * e + k * tanh(a), four times, with e = exp(a) invariant.
    const graph = new Graph('t');
    const a = graph.addInput('a', 'float64', [3]);
    const s0 = graph.addInput('s0', 'float64', [3]);
    const trips = graph.constant('int64', [], [4]);
    const { finals, scans, body } = hoistedLoop(
      trips,
      [s0],
      4,
      (k, [s]) => {
        const e = exp(a, { name: 'invariant_exp' });
        const next = add(mul(s!, e), mul(cast(k, 'float64'), tanh(a, { name: 'invariant_tanh' })), { name: 'next' });
        return { next: [next], scans: [reduceSum(next)] };
      },
      { name: 'steps' },
    );
    graph.addOutput('s', finals[0]!);
    graph.addOutput('sums', scans[0]!);

    const bodyOps = body.nodes.map((node) => node.name);
    assert.ok(!bodyOps.some((name) => name.includes('invariant')), `nothing invariant in the body: ${bodyOps}`);
    assert.ok(graph.nodes.some((node) => node.name === 'steps/invariant_exp'), 'exp(a) runs before the Loop');
    assert.ok(bodyOps.includes('steps/next'));

    const aValues = [0.3, -1.2, 2];
    let s = [1, 2, -0.5];
    const sums: number[] = [];
    for (let k = 0; k < 4; k++) {
      s = s.map((value, i) => value * Math.exp(aValues[i]!) + k * Math.tanh(aValues[i]!));
      sums.push(s.reduce((p, q) => p + q, 0));
    }
    const out = await run(graph, { a: f64(aValues, [3]), s0: f64([1, 2, -0.5], [3]) });
    values(out.s).forEach((value, i) => assert.ok(Math.abs(value - s[i]!) < 1e-12 * Math.abs(s[i]!), `s[${i}] ${value} vs ${s[i]}`));
    values(out.sums).forEach((value, k) => assert.ok(Math.abs(value - sums[k]!) < 1e-12 * Math.abs(sums[k]!)));
  });

  it('ends early when the body says so, and passes carried values it does not change', async () => {
    const graph = new Graph('t');
    const x0 = graph.addInput('x0', 'float64', []);
    const fixed = graph.addInput('fixed', 'float64', [2]);
    const trips = graph.constant('int64', [], [100]);
    const { finals, scans } = hoistedLoop(
      trips,
      [x0, fixed],
      'K',
      (_, [x, unchanged]) => {
        const doubled = mul(x!, scalarLike(x!, 2), { name: 'doubled' });
        return { next: [doubled, unchanged!], scans: [doubled], continueLoop: less(doubled, scalarLike(doubled, 50)) };
      },
      { name: 'doubling', condition: graph.constant('bool', [], [1]) },
    );
    graph.addOutput('x', finals[0]!);
    graph.addOutput('fixed_out', finals[1]!);
    graph.addOutput('trace', scans[0]!);
    const out = await run(graph, { x0: f64([3], []), fixed: f64([7, 8], [2]) });
    assert.deepEqual(values(out.trace), [6, 12, 24, 48, 96]);
    assert.deepEqual(values(out.x), [96]);
    assert.deepEqual(values(out.fixed_out), [7, 8]);
  });

  it('multiplies a loop-invariant wide operand untransposed and gets the same product', async () => {
    // dY^T X with X fixed and wide: the body computes ((X^T) dY)^T, X^T hoisted.
    const n = 50;
    const graph = new Graph('t');
    const x = graph.addInput('x', 'float64', [n, 64]);
    const y0 = graph.addInput('y0', 'float64', [n, 32]);
    const random = new Random(3);
    const xData = Array.from({ length: n * 64 }, () => random.uniform(-1, 1));
    const yData = Array.from({ length: n * 32 }, () => random.uniform(-1, 1));
    const { scans, body } = hoistedLoop(
      graph.constant('int64', [], [2]),
      [y0],
      2,
      (k, [y]) => {
        const scaled = mul(y!, add(cast(k, 'float64'), scalarLike(y!, 1)));
        return { next: [y!], scans: [gemm(scaled, x, null, { transA: true, name: 'weight_gradient' }) as Value] };
      },
      { name: 'product_loop' },
    );
    graph.addOutput('products', scans[0]!);
    assert.ok(!body.nodes.some((node) => node.opType === 'Gemm' && node.attributes.transA), 'no transA Gemm left in the body');
    assert.ok(graph.nodes.some((node) => node.opType === 'Transpose'), 'X^T computed before the Loop');

    const out = values((await run(graph, { x: f64(xData, [n, 64]), y0: f64(yData, [n, 32]) })).products);
    for (let k = 0; k < 2; k++) {
      for (const [r, c] of [[0, 0], [31, 63], [7, 40]] as const) {
        let expected = 0;
        for (let i = 0; i < n; i++) expected += (k + 1) * yData[i * 32 + r]! * xData[i * 64 + c]!;
        const got = out[k * 32 * 64 + r * 64 + c]!;
        assert.ok(Math.abs(got - expected) < 1e-12, `product ${k} [${r}, ${c}]: ${got} vs ${expected}`);
      }
    }
  });
});
