import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { grad } from '../../src/autodiff/engine.ts';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { avgPool2d, conv2d, dense, dropout as dropoutLayer, flatten, relu, tanh } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { readModel } from '../../src/onnx/reader.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { adam } from '../../src/optim/adam.ts';
import { lossOf } from '../../src/programs/modelInputs.ts';
import { evalGraph, forwardGraph, trainStepGraph } from '../../src/programs/programs.ts';
import { createSession } from '../../src/runtime/session.ts';
import * as op from '../../src/ir/ops.ts';
import { averagePool, col2im, conv, convTranspose, dropout, maxPool, resolveConv2d } from '../../src/ir/spatialOps.ts';
import { applicableFormulations, type ConvLayerShape } from '../../src/autodiff/convFormulations.ts';
import { Random } from '../../src/util/random.ts';
import { checkGradients } from '../support/gradcheck.ts';

// Conv, ConvTranspose and AveragePool have no float64 kernels in onnxruntime:
// their rules are checked in float32 on smooth functions (tanh after the op),
// relative error below 1e-3; PyTorch's own gradients are compared in
// pytorchReference.test.ts.
const f32 = { dtype: 'float32' as const };
// Small inputs keep tanh away from saturation, where float32 finite differences lose their digits.
const small = (random: Random) => random.uniform(-0.5, 0.5);

const convCases: Array<{ label: string; x: number[]; w: number[]; attributes: Parameters<typeof conv>[3] }> = [
  { label: '3x3, stride 1, no padding', x: [2, 2, 6, 6], w: [3, 2, 3, 3], attributes: {} },
  { label: '3x3, stride 2, padding 1', x: [2, 2, 7, 7], w: [3, 2, 3, 3], attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: '2x3, stride (2,1), asymmetric padding, dilation 2', x: [1, 3, 8, 7], w: [2, 3, 2, 3], attributes: { strides: [2, 1], pads: [1, 0, 0, 2], dilations: [2, 1] } },
  { label: '5x5 as LeNet', x: [2, 1, 12, 12], w: [4, 1, 5, 5], attributes: {} },
  { label: '3x3, stride 1, asymmetric padding, 9 channels', x: [2, 9, 5, 6], w: [2, 9, 3, 3], attributes: { pads: [1, 0, 2, 1] } },
];

function convLayerShape(x: number[], w: number[], attributes: Parameters<typeof conv>[3]): ConvLayerShape {
  const c = resolveConv2d(attributes);
  return { dtype: 'float32', inChannels: x[1]!, outChannels: w[0]!, height: x[2]!, width: x[3]!, kernel: [w[2]!, w[3]!], ...c };
}

describe('spatial gradient rules (float32, finite differences)', () => {
  for (const order of [1, 2] as const) {
    for (const { label, x, w, attributes } of convCases) {
      // Every formulation the layer admits (convFormulations.ts), not only the one the fixed choice picks.
      const formulations = applicableFormulations(convLayerShape(x, w, attributes));
      for (const weightGradient of formulations.weightGradient) {
        for (const inputGradient of formulations.inputGradient) {
          it(`Conv ${label}, dW by ${weightGradient}, dX by ${inputGradient}, order ${order}`, async () => {
            await checkGradients((a, b, c) => op.tanh(conv(a, b, c, attributes)), [{ shape: x, sample: small }, { shape: w, sample: small }, { shape: [w[0]!], sample: small }], {
              ...f32,
              order,
              convFormulation: { weightGradient, inputGradient },
            });
          });
        }
      }
      it(`ConvTranspose ${label}, order ${order}`, async () => {
        const inChannels = w[0]!;
        await checkGradients(
          (a, b) => op.tanh(convTranspose(a, b, null, attributes)),
          [{ shape: [x[0]!, inChannels, 4, 4], sample: small }, { shape: [inChannels, w[1]!, w[2]!, w[3]!], sample: small }],
          { ...f32, order },
        );
      });
    }
    it(`Col2Im (the matmul-col2im input gradient's op) 3x3 and 2x3 stride (2,1) dilation (2,1) padding (1,2), order ${order}`, async () => {
      // Columns [N, C·kH·kW, L] for a 7x7 and an 8x7 image. Col2Im is linear, so a square makes the
      // second derivative exact for the finite difference too (tanh's is too small to check in float32).
      const square = (v: Value) => op.mul(v, v);
      await checkGradients((a) => square(col2im(a, [7, 7], [3, 3])), [{ shape: [2, 2 * 9, 25], sample: small }], { ...f32, order });
      const c = { strides: [2, 1] as [number, number], dilations: [2, 1] as [number, number], pads: [1, 0, 0, 2] as [number, number, number, number] };
      await checkGradients((a) => square(col2im(a, [8, 7], [2, 3], c)), [{ shape: [1, 3 * 6, 4 * 7], sample: small }], { ...f32, order });
    });
    it(`AveragePool 2x2 stride 2 and 3x3 stride 2 padding 1, order ${order}`, async () => {
      await checkGradients((a) => op.tanh(op.mul(averagePool(a, { kernel: [2, 2] }), a.graph.constant('float32', [], [3]))), [{ shape: [2, 3, 6, 6] }], { ...f32, order });
      await checkGradients((a) => op.tanh(averagePool(op.mul(a, a), { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })), [{ shape: [1, 2, 7, 7] }], { ...f32, order });
    });
  }
});

describe('MaxPool (float64 kernels exist: checked to 1e-6)', () => {
  for (const order of [1, 2] as const) {
    it(`2x2 stride 2, 3x3 stride 2 padding 1, 2x2 stride 3 padding 1, order ${order}`, async () => {
      await checkGradients((a) => op.mul(maxPool(op.mul(a, a), { kernel: [2, 2] }).y, a.graph.constant('float64', [], [1.5])), [{ shape: [2, 3, 6, 6] }], { order });
      await checkGradients((a) => op.tanh(maxPool(op.mul(a, op.exp(a)), { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }).y), [{ shape: [1, 2, 7, 7] }], { order });
      // Padding with gaps between windows (float32 graphs take MaxUnpool there, checked against PyTorch in pytorchReference.test.ts).
      await checkGradients((a) => op.tanh(maxPool(op.mul(a, op.exp(a)), { kernel: [2, 2], strides: [3, 3], pads: [1, 1, 1, 1] }).y), [{ shape: [2, 2, 7, 8] }], { order });
    });
  }
});

// Average pooling keeps the function smooth for float32 finite differences; a
// max-pooling CNN's derivatives are checked in float64 above and against PyTorch.
describe('a small CNN, loss included: gradient and Hessian-vector product (float32)', () => {
  const model = resolveModel(
    sequential('tiny-cnn', { description: 'test', task: 'classification', inputShape: [1, 8, 8], dataset: 'mnist' }, [
      conv2d(3, 3, { padding: 1 }),
      tanh(),
      avgPool2d(2),
      conv2d(4, 3),
      tanh(),
      avgPool2d(2),
      flatten(),
      dense(3),
    ]),
  );
  const random = new Random(3);
  const xData = Array.from({ length: 4 * 64 }, () => random.uniform(0, 1));
  const labels = [0, 2, 1, 2];
  const loss = (...parameters: Value[]) => {
    const graph = parameters[0]!.graph;
    const values = new Map(model.parameters.map((p, i) => [p.name, parameters[i]!]));
    const y = model.forward(graph.constant('float32', [4, 1, 8, 8], xData), values);
    return lossOf(model, y, graph.constant('int64', [4], labels), 'mean');
  };
  for (const order of [1, 2] as const) {
    it(`order ${order}`, async () => {
      await checkGradients(loss, model.parameters.map((p) => ({ shape: [...p.shape], sample: small })), { ...f32, order, step: 3e-3 });
    });
  }
});

describe('Dropout', () => {
  it('in training zeroes about p of the elements, scales the rest by 1/(1-p), and its gradient uses the same mask', async () => {
    const graph = new Graph('dropout');
    const x = graph.addInput('x', 'float64', [200, 50]);
    const { y } = dropout(x, 0.3, 42);
    const weights = graph.addInput('w', 'float64', [200, 50]);
    const [dx] = grad(op.reduceSum(op.mul(y, weights)), [x]);
    graph.addOutput('y', y);
    graph.addOutput('dx', dx!);
    const session = await createSession(serializeGraph(graph), { threads: 1 });
    const ones = new Float64Array(10000).fill(1);
    const w = Float64Array.from({ length: 10000 }, (_, i) => (i % 7) - 3);
    const result = await session.run({ x: new ort.Tensor('float64', ones, [200, 50]), w: new ort.Tensor('float64', w, [200, 50]) });
    const out = result.y!.data as Float64Array;
    const gradient = result.dx!.data as Float64Array;
    const scale = 1 / (1 - Math.fround(0.3)); // onnxruntime reads the ratio as float32
    let kept = 0;
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== 0) {
        kept++;
        assert.ok(Math.abs(out[i]! - scale) < 1e-15);
        assert.ok(Math.abs(gradient[i]! - w[i]! * scale) < 1e-14);
      } else assert.ok(gradient[i] === 0, 'no gradient through a dropped element');
    }
    assert.ok(Math.abs(kept / out.length - 0.7) < 0.03, `kept fraction ${kept / out.length}`);
  });

  it('is the identity in eval mode and active only in train_step', () => {
    const model = resolveModel(
      sequential('with-dropout', { description: 'test', task: 'classification', inputShape: [4], dataset: 'mnist' }, [dense(8), relu(), dropoutLayer(0.5), dense(2)]),
    );
    assert.ok(!readModel(serializeGraph(forwardGraph(model))).opTypes.includes('Dropout'));
    assert.ok(!readModel(serializeGraph(evalGraph(model))).opTypes.includes('Dropout'));
    assert.ok(readModel(serializeGraph(trainStepGraph(model, adam()))).opTypes.includes('Dropout'));
  });
});
