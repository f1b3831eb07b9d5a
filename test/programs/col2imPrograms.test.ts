import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { fixedFormulation, type ConvChooser } from '../../src/autodiff/convFormulations.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { conv2d, dense, flatten, maxPool2d, relu } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { opsetOf, serializeGraph } from '../../src/onnx/writer.ts';
import { modelProgramsWithFormulations } from '../../src/programs/build.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';

// Small enough for hessian.onnx (its Loop body then holds Col2Im and Col2Im's own gradient); conv2's
// 4x4 windows of 3x3 make Col2Im's index table non-square, so a transposed one would show.
const model = resolveModel(
  sequential('col2im-cnn', { description: 'test', task: 'classification', inputShape: [1, 11, 11], dataset: 'mnist' }, [
    conv2d(3, 3),
    relu(),
    maxPool2d(2),
    conv2d(4, 3, { padding: 1 }),
    relu(),
    flatten(),
    dense(3),
  ]),
);

const col2imEverywhere: ConvChooser = (shape) => ({ ...fixedFormulation(shape), inputGradient: 'matmul-col2im' });

/** The same inputs for both builds of a program: a batch of 2, 3 steps, 4 power iterations. */
function feedsFor(graph: Graph): Record<string, ort.Tensor> {
  const random = new Random(11);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of graph.inputs) {
    const dims = input.shape.map((d) => (d === 'N' ? 2 : typeof d === 'string' ? 3 : d));
    const size = dims.reduce((a, b) => a * b, 1);
    if (input.dtype === 'int64') {
      const value = (i: number) => (input.name === 'iterations' ? 4 : input.name === 'step' ? 1 : i % 3);
      feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, (_, i) => BigInt(value(i))), dims);
    } else {
      // Optimizer state as a few steps would leave it (Adam's second moments are squares).
      const value = () => (input.name === 'tolerance' ? 0 : input.name === 'lr' ? 0.01 : input.name.startsWith('state.') ? random.uniform(0, 0.5) : random.uniform(-0.5, 0.5));
      feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: size }, value), dims);
    }
  }
  return feeds;
}

async function outputsOf(graph: Graph): Promise<Record<string, Float32Array | BigInt64Array>> {
  const session = await createSession(serializeGraph(graph), { threads: 1 });
  try {
    const outputs = await session.run(feedsFor(graph));
    return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, tensor.data as Float32Array | BigInt64Array]));
  } finally {
    await session.release();
  }
}

describe('the matmul-col2im input gradient in every program of the graph contract', () => {
  it('writes the programs with a convolution input gradient at opset 18, and each gives the numbers of the fixed (opset 17) build', async () => {
    const fixed = modelProgramsWithFormulations(model).graphs;
    const { graphs: col2im, formulations } = modelProgramsWithFormulations(model, { convFormulations: col2imEverywhere });
    assert.ok(formulations.every((f) => f.inputGradient === 'matmul-col2im'));
    for (const name of ['forward', 'eval']) assert.equal(opsetOf(col2im[name]!), 17, `${name} has no gradient`);
    for (const name of ['gradient', 'train_step', 'hvp', 'hessian', 'power_iteration', 'gradnorm_steps', 'input_grad', 'jacobian']) {
      assert.equal(opsetOf(col2im[name]!), 18, `${name} differentiates through conv2`);
    }
    for (const name of Object.keys(fixed)) {
      const [expected, actual] = [await outputsOf(fixed[name]!), await outputsOf(col2im[name]!)];
      for (const [output, values] of Object.entries(expected)) {
        const other = actual[output]!;
        assert.equal(other.length, values.length, `${name}.${output}`);
        let difference = 0;
        let scale = 1e-6;
        for (let i = 0; i < values.length; i++) {
          const [a, b] = [Number(values[i]), Number(other[i])];
          // power_iteration's first relative change has no previous estimate: NaN in both.
          if (Number.isNaN(a) && Number.isNaN(b)) continue;
          difference = Math.max(difference, Math.abs(a - b));
          scale = Math.max(scale, Math.abs(a));
        }
        assert.ok(difference / scale < 1e-4, `${name}.${output}: ${difference / scale}`);
      }
    }
  });
});
