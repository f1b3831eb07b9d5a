import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { grad } from '../../src/autodiff/engine.ts';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { add, mul, reduceSum, tanh } from '../../src/ir/ops.ts';
import { averagePool, conv, convTranspose, maxPool } from '../../src/ir/spatialOps.ts';
import { applicableFormulations, fixedFormulation, withConvFormulations, type ConvFormulation, type ConvLayerShape } from '../../src/autodiff/convFormulations.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { createSession } from '../../src/runtime/session.ts';

// Gradients and Hessian-vector products of Conv, ConvTranspose and the pools,
// compared with PyTorch's autograd on the same inputs (fixtures made by
// test/fixtures/generate_pytorch_reference.py with Debian's python3-torch).

interface Case {
  name: string;
  kind: 'Conv' | 'ConvTranspose' | 'AveragePool' | 'MaxPool';
  attributes: { strides: [number, number]; pads: [number, number, number, number]; dilations?: [number, number]; kernel?: [number, number]; outputPadding?: [number, number] };
  inputs: Array<{ shape: number[]; data: number[] }>;
  r: { shape: number[]; data: number[] };
  v: number[][];
  output: { shape: number[]; data: number[] };
  objective: number;
  grads: number[][];
  hvp: number[][];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/pytorch-reference.json', import.meta.url), 'utf8')) as { torch: string; cases: Case[] };

/** A Conv case is built once per gradient formulation it admits. */
type Variant = { label: string; formulation?: ConvFormulation };

function variants(testCase: Case, inputs: Case['inputs']): Variant[] {
  const a = testCase.attributes;
  if (testCase.kind === 'Conv') {
    const [x, w] = [inputs[0]!.shape, inputs[1]!.shape];
    const shape: ConvLayerShape = { dtype: 'float32', inChannels: x[1]!, outChannels: w[0]!, height: x[2]!, width: x[3]!, kernel: [w[2]!, w[3]!], strides: a.strides, pads: a.pads, dilations: a.dilations ?? [1, 1], group: 1 };
    const applicable = applicableFormulations(shape);
    return applicable.weightGradient.flatMap((weightGradient) =>
      applicable.inputGradient.map((inputGradient) => ({ label: `, dW by ${weightGradient}, dX by ${inputGradient}`, formulation: { weightGradient, inputGradient } })),
    );
  }
  return [{ label: '' }];
}

function apply(testCase: Case, inputs: Value[]): Value {
  const a = testCase.attributes;
  switch (testCase.kind) {
    case 'Conv':
      return conv(inputs[0]!, inputs[1]!, inputs[2]!, { strides: a.strides, pads: a.pads, dilations: a.dilations });
    case 'ConvTranspose':
      return convTranspose(inputs[0]!, inputs[1]!, inputs[2]!, { strides: a.strides, pads: a.pads, outputPadding: a.outputPadding });
    case 'AveragePool':
      return averagePool(mul(inputs[0]!, inputs[0]!), { kernel: a.kernel!, strides: a.strides, pads: a.pads });
    case 'MaxPool':
      return maxPool(mul(inputs[0]!, inputs[0]!), { kernel: a.kernel!, strides: a.strides, pads: a.pads }).y;
  }
}

/** Largest absolute difference, relative to the reference's largest magnitude. */
function relativeDifference(actual: ArrayLike<number>, expected: number[]): number {
  assert.equal(actual.length, expected.length);
  let difference = 0;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}

describe(`spatial rules against PyTorch ${fixture.torch} (float32, first and second order)`, () => {
  for (const testCase of fixture.cases) {
    for (const variant of variants(testCase, testCase.inputs)) {
      it(`${testCase.name}${variant.label}`, async () => {
        const { result: graph } = withConvFormulations(variant.formulation ? () => variant.formulation! : fixedFormulation, () => {
          const graph = new Graph('pytorch-reference');
          const inputs = testCase.inputs.map((input, i) => graph.addInput(`in${i}`, 'float32', input.shape));
          const directions = testCase.inputs.map((input, i) => graph.addInput(`v${i}`, 'float32', input.shape));
          const out = apply(testCase, inputs);
          const objective = reduceSum(mul(tanh(out), graph.constant('float32', testCase.r.shape, testCase.r.data)));
          const gradients = grad(objective, inputs);
          const probe = gradients.map((g, i) => reduceSum(mul(g, directions[i]!))).reduce((sum, term) => add(sum, term));
          const hvp = grad(probe, inputs, { scope: 'hvp' });
          graph.addOutput('out', out);
          graph.addOutput('objective', objective);
          gradients.forEach((g, i) => graph.addOutput(`grad${i}`, g));
          hvp.forEach((h, i) => graph.addOutput(`hvp${i}`, h));
          return graph;
        });

        const session = await createSession(serializeGraph(graph), { threads: 1 });
        const feeds: Record<string, ort.Tensor> = {};
        testCase.inputs.forEach((input, i) => {
          feeds[`in${i}`] = new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
          feeds[`v${i}`] = new ort.Tensor('float32', Float32Array.from(testCase.v[i]!), input.shape);
        });
        const result = await session.run(feeds);
        assert.deepEqual(result.out!.dims, testCase.output.shape);
        assert.ok(relativeDifference(result.out!.data as Float32Array, testCase.output.data) < 1e-5, 'forward output');
        testCase.grads.forEach((expected, i) => {
          const error = relativeDifference(result[`grad${i}`]!.data as Float32Array, expected);
          assert.ok(error < 1e-4, `gradient of input ${i}: relative difference ${error.toExponential(2)}`);
        });
        testCase.hvp.forEach((expected, i) => {
          const error = relativeDifference(result[`hvp${i}`]!.data as Float32Array, expected);
          assert.ok(error < 1e-4, `Hessian-vector product of input ${i}: relative difference ${error.toExponential(2)}`);
        });
        await session.release();
      });
    }
  }
});
