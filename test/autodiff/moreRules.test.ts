import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { grad } from '../../src/autodiff/engine.ts';
import { Graph, type Value } from '../../src/ir/graph.ts';
import * as op from '../../src/ir/ops.ts';
import type { Shape } from '../../src/ir/shape.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';
import { awayFromZero, checkGradients, type InputSpec } from '../support/gradcheck.ts';
import { CHECKER_SKIP_REASON, checkOnnxFiles, onnxCheckerVersion } from '../support/onnxChecker.ts';

// Rules for Abs, Sign, Sin, Cos, LessOrEqual/GreaterOrEqual, Concat, Split, Slice,
// Pad, Gather, GatherElements and ScatterElements: first and second order
// against central finite differences in float64, the ONNX checker on the
// emitted derivative graphs, and forward values against hand-computed numbers.

const orders = [1, 2] as const;
const indices = (like: Value, shape: number[], data: number[]) => like.graph.constant('int64', shape, data);

// Random shapes and indices, drawn once from a fixed seed so failures reproduce.
const random = new Random(2024);
const draw = (low: number, high: number) => low + random.integer(high - low + 1);
const drawShape = (rank: number, low = 1, high = 4) => Array.from({ length: rank }, () => draw(low, high));
/** Valid ONNX indices for a dimension of size n, negative half the time. */
const drawIndices = (count: number, n: number) => Array.from({ length: count }, () => draw(0, n - 1) - (random.next() < 0.5 ? n : 0));

interface GradientCase {
  name: string;
  specs: InputSpec[];
  build: (...inputs: Value[]) => Value;
}

const drawConcat = () => {
  const axis = draw(0, 2);
  const a = drawShape(3);
  const b = a.map((dim, i) => (i === axis ? draw(1, 4) : dim));
  return { axis, a, b };
};

const drawSlice = () => {
  const shape = drawShape(3, 2, 5);
  const axes = [0, 1, 2].filter(() => random.next() < 0.7);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const axis of axes) {
    const dim = shape[axis]!;
    const start = draw(0, dim - 1);
    const end = draw(start + 1, dim + 2);
    starts.push(random.next() < 0.5 ? start - dim : start);
    ends.push(end >= dim ? (random.next() < 0.5 ? Infinity : end) : random.next() < 0.5 ? end - dim : end);
  }
  return { shape, axes, starts, ends };
};

/** Draw i puts the gather on axis i % 3 with indices of rank (i + 1) % 3, so all of them are covered. */
const drawGather = (i: number) => {
  const data = drawShape(3);
  const axis = i % 3;
  const indexShape = drawShape((i + 1) % 3, 1, 3);
  const count = indexShape.reduce((a, b) => a * b, 1);
  return { data, axis, indexShape, values: drawIndices(count, data[axis]!) };
};

const drawElements = () => {
  const data = drawShape(2, 2, 4);
  const axis = draw(0, 1);
  const index = data.map((dim, i) => (i === axis ? draw(1, 5) : draw(1, dim)));
  const count = index.reduce((a, b) => a * b, 1);
  return { data, axis, index, values: drawIndices(count, data[axis]!) };
};

const format = (drawn: object) => JSON.stringify(drawn, (_, v) => (v === Infinity ? 'Infinity' : v));
const draws = 3;

const randomCases = (): GradientCase[] =>
  Array.from({ length: draws }, (_, i) => {
    const c = drawConcat();
    const s = drawSlice();
    const g = drawGather(i);
    const e = drawElements();
    return [
      {
        name: `Concat on random shapes ${format(c)}`,
        specs: [{ shape: c.a }, { shape: c.b }],
        build: (a: Value, b: Value) => op.tanh(op.concat([op.mul(a, a), op.exp(b)], c.axis - 3)),
      },
      {
        name: `Slice on random shapes and bounds ${format(s)}`,
        specs: [{ shape: s.shape }],
        build: (x: Value) => op.sin(op.slice(op.mul(x, op.exp(x)), s.starts, s.ends, s.axes)),
      },
      {
        name: `Gather on random shapes ${format(g)}`,
        specs: [{ shape: g.data }],
        build: (x: Value) => op.gather(op.tanh(op.mul(x, x)), indices(x, g.indexShape, g.values), g.axis),
      },
      {
        name: `GatherElements on random shapes ${format(e)}`,
        specs: [{ shape: e.data }],
        build: (x: Value) => op.gatherElements(op.sin(op.mul(x, x)), indices(x, e.index, e.values), e.axis),
      },
      {
        name: `ScatterElements 'add' on random shapes ${format(e)}`,
        specs: [{ shape: e.data }, { shape: e.index }],
        build: (d: Value, u: Value) => op.tanh(op.scatterElements(op.mul(d, d), indices(d, e.index, e.values), op.sin(u), { axis: e.axis, reduction: 'add' })),
      },
    ];
  }).flat();

const cases: GradientCase[] = [
  { name: 'Abs away from zero, times tanh', specs: [{ shape: [3, 4], sample: awayFromZero }], build: (x) => op.mul(op.abs(x), op.tanh(x)) },
  { name: 'Sign is a zero-gradient factor: sign(x) x^2 = x|x|', specs: [{ shape: [5], sample: awayFromZero }], build: (x) => op.mul(op.sign(x), op.mul(x, x)) },
  { name: 'Sin and Cos, broadcast [2,3] * [3]', specs: [{ shape: [2, 3] }, { shape: [3] }], build: (x, y) => op.add(op.sin(op.mul(x, y)), op.cos(x)) },
  {
    name: 'LessOrEqual and GreaterOrEqual select Where branches',
    specs: [{ shape: [3, 4], sample: awayFromZero }],
    build: (x) => {
      const zero = op.scalarLike(x, 0);
      return op.add(op.where(op.lessOrEqual(x, zero), op.sin(x), op.mul(x, x)), op.where(op.greaterOrEqual(x, zero), op.exp(x), op.cos(x)));
    },
  },
  {
    name: 'Concat of two products along axis 1, then tanh',
    specs: [{ shape: [2, 3] }, { shape: [2, 1] }],
    build: (a, b) => op.tanh(op.concat([op.mul(a, a), op.mul(b, op.exp(b))], 1)),
  },
  {
    name: 'Concat of three along axis 0 of one input reused',
    specs: [{ shape: [2, 3] }, { shape: [1, 3] }],
    build: (a, b) => op.concat([op.sin(a), op.mul(a, b), op.mul(b, b)], 0),
  },
  {
    name: 'Split into three along axis 1, pieces recombined (one unused)',
    specs: [{ shape: [3, 6] }],
    build: (x) => {
      const [a, b] = op.split(op.mul(x, op.sin(x)), [1, 3, 2], 1);
      return op.mul(op.tanh(b!), op.exp(a!));
    },
  },
  {
    name: 'Slice of exp with negative and clamped bounds',
    specs: [{ shape: [4, 5] }],
    build: (x) => op.slice(op.exp(x), [-3, 1], [100, -1], [1, 0]),
  },
  {
    name: 'Slice of a slice, default axes',
    specs: [{ shape: [4, 3, 2] }],
    build: (x) => op.slice(op.tanh(op.slice(op.mul(x, x), [1, -Infinity], [-1, 2])), [1], [Infinity], [-1]),
  },
  {
    name: 'Pad of a square with zeros, then tanh',
    specs: [{ shape: [2, 3, 2] }],
    build: (x) => op.tanh(op.pad(op.mul(x, x), [1, 0, 2, 0, 3, 1])),
  },
  {
    name: 'Pad with a constant times Pad with zeros',
    specs: [{ shape: [2, 3] }],
    build: (x) => op.mul(op.pad(x, [0, 1, 1, 0], 0.5), op.pad(op.sin(x), [1, 0, 0, 1])),
  },
  {
    name: 'Gather of tanh along axis 0 with repeated and negative indices',
    specs: [{ shape: [4, 3] }],
    build: (x) => op.gather(op.tanh(x), indices(x, [5], [0, 3, -1, 1, 0]), 0),
  },
  {
    name: 'Gather along axis 1 of a 3-D value with rank-2 indices',
    specs: [{ shape: [2, 4, 3] }],
    build: (x) => op.gather(op.mul(x, op.sin(x)), indices(x, [2, 3], [0, 1, 3, 3, 3, -2]), 1),
  },
  {
    name: 'Gather of a scalar index on the last axis',
    specs: [{ shape: [3, 4] }],
    build: (x) => op.gather(op.exp(x), indices(x, [], [2]), -1),
  },
  {
    name: 'GatherElements of a square along axis 1 with repeats',
    specs: [{ shape: [3, 4] }],
    build: (x) => op.gatherElements(op.mul(x, op.tanh(x)), indices(x, [3, 2], [0, 0, 3, -4, 2, 1]), 1),
  },
  {
    name: "ScatterElements 'add' with repeated indices, data and updates both differentiable",
    specs: [{ shape: [3, 4] }, { shape: [2, 4] }],
    build: (d, u) => op.mul(op.scatterElements(op.tanh(d), indices(d, [2, 4], [0, 2, 2, 1, 0, 2, -1, 1]), op.mul(u, u), { axis: 0, reduction: 'add' }), op.sin(d)),
  },
  {
    name: "ScatterElements 'none' zeroes the overwritten data gradient",
    specs: [{ shape: [3, 4] }, { shape: [3, 2] }],
    build: (d, u) => op.mul(op.scatterElements(op.sin(d), indices(d, [3, 2], [1, 3, 0, 2, -2, 1]), op.mul(u, op.exp(u)), { axis: 1 }), d),
  },
  ...randomCases(),
];

/** A composite that the symbolic-batch test builds both with N and with N = 3. */
function pipeline(x: Value): Value {
  const joined = op.concat([op.abs(x), op.mul(x, op.sin(x))], 1); // [N, 10]
  const window = op.pad(op.slice(joined, [2], [-1], [1]), [0, 1, 0, 2]); // [N, 10]
  const picked = op.gather(window, indices(x, [2, 2], [0, 3, -1, 4]), 1); // [N, 2, 2]
  const rows = op.gather(op.cos(x), indices(x, [2], [-1, 0]), 0); // [2, 5]
  return op.add(op.reduceSum(op.tanh(picked)), op.reduceSum(op.mul(rows, rows)));
}

describe('more gradient rules match central finite differences in float64', () => {
  for (const order of orders) {
    describe(`order ${order}`, () => {
      for (const { name, specs, build } of cases) {
        it(name, async () => {
          await checkGradients(build, specs, { order });
        });
      }
      it('composite of Concat, Slice, Pad, Gather, Abs, Sin, Cos', async () => {
        await checkGradients(pipeline, [{ shape: [3, 5], sample: awayFromZero }], { order });
      });
    });
  }
});

/**
 * loss = sum(build(inputs)), its gradient and the gradient of <gradient, u>
 * (a Hessian-vector product): every rule and the rules of its rules.
 */
function derivativeGraph(name: string, shapes: Shape[], build: (...inputs: Value[]) => Value): Graph {
  const graph = new Graph(name);
  const inputs = shapes.map((shape, i) => graph.addInput(`x${i}`, 'float64', shape));
  const loss = op.reduceSum(graph.withScope('forward', () => build(...inputs)));
  const gradients = grad(loss, inputs);
  const directions = inputs.map((x, i) => graph.addInput(`u${i}`, 'float64', x.shape));
  const probe = gradients.map((g, i) => op.reduceSum(op.mul(g, directions[i]!))).reduce((a, b) => op.add(a, b));
  const hvp = grad(probe, inputs, { scope: 'second' });
  graph.addOutput('loss', loss);
  gradients.forEach((g, i) => graph.addOutput(`grad${i}`, g));
  hvp.forEach((h, i) => graph.addOutput(`hvp${i}`, h));
  return graph;
}

async function runGraph(graph: Graph, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(serializeGraph(graph), { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('symbolic dimensions', () => {
  it('gradients and HVPs build with a symbolic batch and equal the static graph at N = 3', async () => {
    const symbolic = derivativeGraph('symbolic', [['N', 5]], pipeline);
    const fixed = derivativeGraph('fixed', [[3, 5]], pipeline);
    const values = new Random(3);
    const sample = () => Float64Array.from({ length: 15 }, () => awayFromZero(values));
    const feeds = { x0: new ort.Tensor('float64', sample(), [3, 5]), u0: new ort.Tensor('float64', sample(), [3, 5]) };
    const [a, b] = [await runGraph(symbolic, feeds), await runGraph(fixed, feeds)];
    for (const name of ['loss', 'grad0', 'hvp0']) {
      assert.deepEqual(a[name]!.dims, b[name]!.dims, name);
      const [p, q] = [a[name]!.data as Float64Array, b[name]!.data as Float64Array];
      p.forEach((v, i) => assert.ok(Math.abs(v - q[i]!) < 1e-12, `${name}[${i}]: ${v} vs ${q[i]}`));
    }
    assert.ok((a.grad0!.data as Float64Array).some((v) => v !== 0));
  });

  it('Concat gradient says the concat axis must be static', () => {
    const graph = new Graph('g');
    const x = graph.addInput('x', 'float64', ['N', 2]);
    const joined = op.concat([x, x], 0);
    assert.deepEqual(joined.shape, ['N+N', 2]);
    assert.throws(() => grad(op.reduceSum(joined), [x]), /Concat gradient needs static sizes along axis 0; x is \[N, 2\]/);
  });

  it('Slice and Pad refuse symbolic sliced or padded axes but keep the others', () => {
    const graph = new Graph('g');
    const x = graph.addInput('x', 'float64', ['N', 4]);
    assert.deepEqual(op.slice(x, [1], [-1], [1]).shape, ['N', 2]);
    assert.deepEqual(op.pad(x, [0, 1, 0, 2]).shape, ['N', 7]);
    assert.throws(() => op.slice(x, [0], [1], [0]), /Slice: axis 0 of \[N, 4\] is symbolic \("N"\)/);
    assert.throws(() => op.pad(x, [1, 0, 0, 0]), /Pad: axis 0 of x\[N, 4\] is symbolic/);
  });
});

describe('build-time errors', () => {
  it('the Slice gradient refuses steps other than 1', () => {
    const graph = new Graph('g');
    const x = graph.addInput('x', 'float64', [6]);
    const int64 = (values: number[]) => graph.constant('int64', [values.length], values);
    const [strided] = graph.addNode('Slice', [x, int64([0]), int64([6]), int64([0]), int64([2])], [{ dtype: 'float64', shape: [3] }]);
    assert.throws(() => grad(op.reduceSum(strided!), [x]), /Slice gradient supports step 1 only, got steps \[2\]/);
  });

  it('Pad refuses negative pads, and index ops non-int64 indices and mismatched shapes', () => {
    const graph = new Graph('g');
    const x = graph.addInput('x', 'float64', [3, 4]);
    assert.throws(() => op.pad(x, [0, -1, 0, 0]), /Pad: pads \[0,-1,0,0\] must be non-negative/);
    assert.throws(() => op.gather(x, x), /Gather: indices x must be int64, is float64/);
    assert.throws(() => op.gatherElements(x, indices(x, [3], [0, 1, 2])), /GatherElements: indices \[3\] and data \[3, 4\] must have the same rank/);
    assert.throws(() => op.scatterElements(x, indices(x, [1, 2], [0, 1]), op.slice(x, [0], [1]), { axis: 1 }), /ScatterElements: indices \[1, 2\] and updates \[1, 4\]/);
    assert.throws(() => op.concat([x, op.slice(x, [0], [2], [1])], 0), /Concat: shapes differ off axis 0/);
  });

  it('Sign is declared non-differentiable: its gradient is a symbolic zero', () => {
    const graph = new Graph('g');
    const x = graph.addInput('x', 'float64', [3]);
    const [dx] = grad(op.reduceSum(op.sign(x)), [x]);
    assert.equal(dx!.producer?.opType, 'ConstantOfShape');
  });
});

const checker = onnxCheckerVersion();

describe('emitted derivative graphs of the new ops', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'hw1-more-rules-'));
  after(() => rmSync(outDir, { recursive: true, force: true }));

  it('pass the official ONNX checker with full shape inference', { skip: checker ? false : CHECKER_SKIP_REASON }, () => {
    const graphs = [
      ...cases.map(({ specs, build }, i) => derivativeGraph(`case${i}`, specs.map((s) => s.shape), build)),
      derivativeGraph('symbolic', [['N', 5]], pipeline),
      forwardGraph(),
    ];
    const files = graphs.map((graph) => {
      const path = join(outDir, `${graph.name}.onnx`);
      writeFileSync(path, serializeGraph(graph));
      return path;
    });
    const opTypes = new Set(graphs.flatMap((g) => g.nodes.map((n) => n.opType)));
    for (const opType of ['Abs', 'Sign', 'Sin', 'Cos', 'LessOrEqual', 'GreaterOrEqual', 'Concat', 'Slice', 'Pad', 'Gather', 'GatherElements', 'ScatterElements']) {
      assert.ok(opTypes.has(opType), `${opType} is among the checked graphs`);
    }
    assert.deepEqual(checkOnnxFiles(files), []);
  });
});

// ---------------------------------------------------------------- forward values

interface Expected {
  shape: number[];
  values: number[];
}

/** One graph whose outputs are every new op applied to small inputs, with hand-computed results. */
function forwardGraph(): Graph {
  const graph = new Graph('forward_values');
  const v = graph.addInput('v', 'float64', [3]); // [-1.5, 0, 2]
  const w = graph.addInput('w', 'float64', [3]); // [0, pi/2, pi/6]
  const m = graph.addInput('m', 'float64', [3, 4]); // 0..11 row-major
  const k = graph.addInput('k', 'float64', [3, 2]); // [[1, 2], [3, 4], [5, 6]]
  const two = graph.constant('float64', [3], [2, 2, 2]);
  const outputs: Record<string, Value> = {
    abs: op.abs(v),
    sign: op.sign(v),
    sin: op.sin(w),
    cos: op.cos(w),
    lessOrEqual: op.lessOrEqual(op.abs(v), two),
    greaterOrEqual: op.greaterOrEqual(op.abs(v), two),
    concat: op.concat([k, op.slice(m, [0], [2], [1])], 1),
    slice: op.slice(m, [-2, 1], [100, -1], [0, 1]),
    pad: op.pad(op.slice(k, [0], [1]), [1, 0, 0, 2], 9),
    gather: op.gather(k, indices(k, [2, 2], [2, -3, 1, 1]), 0),
    gatherColumn: op.gather(k, indices(k, [1], [1]), 1),
    gatherElements: op.gatherElements(k, indices(k, [3, 2], [0, 0, 1, 0, -1, 1]), 1),
    scatterNone: op.scatterElements(m, indices(m, [1, 2], [3, 0]), graph.constant('float64', [1, 2], [10, 20]), { axis: 1 }),
    scatterAdd: op.scatterElements(m, indices(m, [2, 1], [2, 2]), graph.constant('float64', [2, 1], [10, 20]), { axis: 0, reduction: 'add' }),
  };
  for (const [name, value] of Object.entries(outputs)) graph.addOutput(name, value);
  return graph;
}

const expected: Record<string, Expected> = {
  abs: { shape: [3], values: [1.5, 0, 2] },
  sign: { shape: [3], values: [-1, 0, 1] },
  sin: { shape: [3], values: [0, 1, 0.5] },
  cos: { shape: [3], values: [1, 0, Math.sqrt(3) / 2] },
  lessOrEqual: { shape: [3], values: [1, 1, 1] },
  greaterOrEqual: { shape: [3], values: [0, 0, 1] },
  concat: { shape: [3, 4], values: [1, 2, 0, 1, 3, 4, 4, 5, 5, 6, 8, 9] },
  slice: { shape: [2, 2], values: [5, 6, 9, 10] },
  pad: { shape: [2, 4], values: [9, 9, 9, 9, 1, 2, 9, 9] },
  gather: { shape: [2, 2, 2], values: [5, 6, 1, 2, 3, 4, 3, 4] },
  gatherColumn: { shape: [3, 1], values: [2, 4, 6] },
  gatherElements: { shape: [3, 2], values: [1, 1, 4, 3, 6, 6] },
  scatterNone: { shape: [3, 4], values: [20, 1, 2, 10, 4, 5, 6, 7, 8, 9, 10, 11] },
  scatterAdd: { shape: [3, 4], values: [0, 1, 2, 3, 4, 5, 6, 7, 38, 9, 10, 11] },
};

describe('forward values of the new ops match hand-computed numbers', () => {
  it('on one small input each, with the inferred static shapes', async () => {
    const graph = forwardGraph();
    const result = await runGraph(graph, {
      v: new ort.Tensor('float64', Float64Array.from([-1.5, 0, 2]), [3]),
      w: new ort.Tensor('float64', Float64Array.from([0, Math.PI / 2, Math.PI / 6]), [3]),
      m: new ort.Tensor('float64', Float64Array.from({ length: 12 }, (_, i) => i), [3, 4]),
      k: new ort.Tensor('float64', Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]),
    });
    for (const { name, value } of graph.outputs) {
      const want = expected[name]!;
      const got = result[name]!;
      assert.deepEqual(value.shape, want.shape, `${name}: inferred shape`);
      assert.deepEqual(got.dims, want.shape, `${name}: onnxruntime's shape`);
      Array.from(got.data as ArrayLike<number>, Number).forEach((x, i) =>
        assert.ok(Math.abs(x - want.values[i]!) < 1e-12, `${name}[${i}] = ${x}, expected ${want.values[i]}`),
      );
    }
  });
});
