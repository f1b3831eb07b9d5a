import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/ir/graph.ts';
import { reduceMean, reduceSumSquare } from '../../src/ir/ops.ts';
import { col2im } from '../../src/ir/spatialOps.ts';
import { opsetOf, OPSET_VERSION, serializeGraph } from '../../src/onnx/writer.ts';
import { createSession } from '../../src/runtime/session.ts';

const { onnx } = onnxProto;

/** x [2, 3, 4]: its mean over axis 1 and its sum of squares over axis 2, and (with col2im) columns [1, 4, 4] summed into a 3x3 image. */
function build(withCol2im: boolean): Graph {
  const graph = new Graph('opset', '');
  const x = graph.addInput('x', 'float32', [2, 3, 4]);
  graph.addOutput('mean', reduceMean(x, [1]));
  graph.addOutput('squares', reduceSumSquare(x, [2]));
  if (withCol2im) graph.addOutput('image', col2im(graph.addInput('columns', 'float32', [1, 4, 4]), [3, 3], [2, 2]));
  return graph;
}

const x = Float32Array.from({ length: 24 }, (_, i) => (i % 7) - 3);
const columns = Float32Array.from({ length: 16 }, (_, i) => i + 1);

async function run(graph: Graph, feeds: Record<string, ort.Tensor>) {
  const session = await createSession(serializeGraph(graph), { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function expectReductions(outputs: ort.InferenceSession.ReturnType) {
  const mean = Array.from({ length: 8 }, (_, k) => {
    const [n, j] = [Math.floor(k / 4), k % 4];
    return (x[n * 12 + j]! + x[n * 12 + 4 + j]! + x[n * 12 + 8 + j]!) / 3;
  });
  const squares = Array.from({ length: 6 }, (_, r) => [0, 1, 2, 3].reduce((s, j) => s + x[r * 4 + j]! ** 2, 0));
  assert.deepEqual(Array.from(outputs.mean!.data as Float32Array).map((v) => +v.toFixed(5)), mean.map((v) => +v.toFixed(5)));
  assert.deepEqual(Array.from(outputs.squares!.data as Float32Array), squares);
}

describe('the opset a graph is written at', () => {
  it('is 17 without a later op, the Reduce axes an attribute', async () => {
    const graph = build(false);
    assert.equal(opsetOf(graph), OPSET_VERSION);
    const model = onnx.ModelProto.decode(serializeGraph(graph));
    assert.equal(Number(model.opsetImport![0]!.version), 17);
    const mean = model.graph!.node!.find((n) => n.opType === 'ReduceMean')!;
    assert.equal(mean.input!.length, 1);
    assert.ok(mean.attribute!.some((a) => a.name === 'axes'));
    expectReductions(await run(graph, { x: new ort.Tensor('float32', x, [2, 3, 4]) }));
  });

  it('is 18 with Col2Im, the Reduce axes then an input, and every number is the same', async () => {
    const graph = build(true);
    assert.equal(opsetOf(graph), 18);
    const model = onnx.ModelProto.decode(serializeGraph(graph));
    assert.equal(Number(model.opsetImport![0]!.version), 18);
    for (const opType of ['ReduceMean', 'ReduceSumSquare']) {
      const node = model.graph!.node!.find((n) => n.opType === opType)!;
      assert.equal(node.input!.length, 2, `${opType} reads its axes from an input`);
      assert.ok(!node.attribute!.some((a) => a.name === 'axes'));
      assert.ok(model.graph!.initializer!.some((t) => t.name === node.input![1]));
    }
    const outputs = await run(graph, { x: new ort.Tensor('float32', x, [2, 3, 4]), columns: new ort.Tensor('float32', columns, [1, 4, 4]) });
    expectReductions(outputs);
    // Four 2x2 windows of a 3x3 image; column (a, b) of window (p, q) lands on pixel (p + a, q + b).
    const image = new Array(9).fill(0);
    for (let k = 0; k < 4; k++) for (let l = 0; l < 4; l++) image[(Math.floor(l / 2) + Math.floor(k / 2)) * 3 + (l % 2) + (k % 2)] += columns[k * 4 + l]!;
    assert.deepEqual(Array.from(outputs.image!.data as Float32Array), image);
  });

  it('counts only the nodes that are written: a Col2Im nothing reads keeps the graph at 17', () => {
    const graph = build(false);
    col2im(graph.addInput('columns', 'float32', [1, 4, 4]), [3, 3], [2, 2]);
    assert.equal(opsetOf(graph), OPSET_VERSION);
  });
});
