import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/ir/graph.ts';
import { hoistedLoop } from '../../src/ir/hoistedLoop.ts';
import { add, exp, matmul, mul, tanh } from '../../src/ir/ops.ts';
import { maxPool } from '../../src/ir/spatialOps.ts';
import { findModel } from '../../src/nn/registry.ts';
import { readModel } from '../../src/onnx/reader.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { evalGraph, trainStepGraph } from '../../src/programs/programs.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

// onnxruntime runs nodes nobody reads; the writer leaves them out.

describe('dead nodes', () => {
  it('are not written: only what the outputs depend on, with the constants it reads', () => {
    const graph = new Graph('t');
    const x = graph.addInput('x', 'float32', [2, 2]);
    matmul(mul(x, graph.constant('float32', [], [3])), x, { name: 'unused_product' });
    graph.addOutput('y', tanh(x, { name: 'used' }));
    const bytes = serializeGraph(graph);
    assert.deepEqual(readModel(bytes).nodeNames, ['used']);
    assert.deepEqual(onnx.ModelProto.decode(bytes).graph!.initializer ?? [], [], 'the unused constant is not stored');
  });

  it('keep what a Loop body reads from the enclosing graph', async () => {
    const graph = new Graph('t');
    const x = graph.addInput('x', 'float32', [3]);
    exp(x, { name: 'unused' });
    const { finals } = hoistedLoop(
      graph.constant('int64', [], [2]),
      [x],
      2,
      (_, [s]) => ({ next: [add(s!, exp(x, { name: 'hoisted_exp' }))] }),
      { name: 'loop' },
    );
    graph.addOutput('y', finals[0]!);
    const { nodeNames } = readModel(serializeGraph(graph));
    assert.ok(nodeNames.includes('loop/hoisted_exp'), `the hoisted value read by the body is kept: ${nodeNames}`);
    assert.ok(!nodeNames.includes('unused'));
    const session = await ort.InferenceSession.create(serializeGraph(graph));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(0, 1, 2), [3]) });
    const expected = [0, 1, 2].map((v) => v + 2 * Math.exp(v));
    Array.from(out.y!.data as Float32Array).forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-5));
    await session.release();
  });
});

// onnxruntime's MaxPool takes its fast kernel only when no Indices output is declared.
describe('optional outputs nobody reads', () => {
  const maxPoolOutputs = (bytes: Uint8Array) =>
    onnx.ModelProto.decode(bytes).graph!.node!.filter((node) => node.opType === 'MaxPool').map((node) => node.output!.length);

  it("are left out: an evaluation graph's MaxPool has no Indices, a training step's keeps them for its gradient", () => {
    const model = findModel('mnist-cnn');
    assert.deepEqual(maxPoolOutputs(serializeGraph(evalGraph(model))), [1, 1]);
    assert.deepEqual(maxPoolOutputs(serializeGraph(trainStepGraph(model, sgd(), 'float32', { gradNorm: false }))), [2, 2]);
  });

  it('are kept when read, and the pooled values do not change', async () => {
    const build = (readIndices: boolean) => {
      const graph = new Graph('t');
      const x = graph.addInput('x', 'float32', [1, 1, 4, 4]);
      const { y, indices } = maxPool(x, { kernel: [2, 2] });
      graph.addOutput('y', y);
      if (readIndices) graph.addOutput('indices', indices);
      return serializeGraph(graph);
    };
    assert.deepEqual(maxPoolOutputs(build(false)), [1]);
    assert.deepEqual(maxPoolOutputs(build(true)), [2]);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7)), [1, 1, 4, 4]);
    const pooled = [];
    for (const readIndices of [false, true]) {
      const session = await ort.InferenceSession.create(build(readIndices));
      pooled.push(Array.from((await session.run({ x })).y!.data as Float32Array));
      await session.release();
    }
    assert.deepEqual(pooled[0], pooled[1]);
    const expected = [0, 2, 8, 10].map((corner) => Math.max(...[0, 1, 4, 5].map((d) => Math.fround(Math.sin((corner + d) * 1.7)))));
    assert.deepEqual(pooled[0], expected);
  });
});

