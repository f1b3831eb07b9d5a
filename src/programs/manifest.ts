import type { ConvolutionsRecord } from '../autodiff/convFormulations.ts';
import type { Shape } from '../ir/shape.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model, Task } from '../nn/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { IR_VERSION, opsetOf } from '../onnx/writer.ts';
import { inputShape, targetSignature, type FloatType } from './modelInputs.ts';

export const MANIFEST_FORMAT = 'hw1-onnx/graphs@1';

export interface GraphEntry {
  file: string;
  doc: string;
  /** 17, or 18 where a convolution's input gradient takes Col2Im (the tuner's choice). */
  opset: number;
  inputs: string[];
  outputs: string[];
}

/** manifest.json of graphs/<model>/: what a user or a later tool needs to feed every graph. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  model: string;
  description: string;
  task: Task;
  dtype: FloatType;
  input: { name: 'x'; shape: Shape };
  target: { name: 'target'; dtype: string; shape: Shape };
  output: { name: 'y'; shape: Shape };
  parameters: Array<{ name: string; shape: number[] }>;
  parameterCount: number;
  optimizer: { name: string; config: Record<string, number | boolean>; stateSlots: string[]; initialState: Record<string, number> };
  /** The highest opset among the graphs. */
  opset: number;
  irVersion: number;
  graphs: Record<string, GraphEntry>;
  /** Models with convolutions: each layer shape's gradient formulation in these graphs, and whether it was measured at build time. */
  convolutions?: ConvolutionsRecord;
}

export function manifestFor(
  model: Model,
  dtype: FloatType,
  optimizer: Optimizer,
  graphs: Record<string, Graph>,
  convolutions?: ConvolutionsRecord,
): Manifest {
  const target = targetSignature(model, dtype);
  const opsets = Object.fromEntries(Object.entries(graphs).map(([key, graph]) => [key, opsetOf(graph)]));
  return {
    format: MANIFEST_FORMAT,
    model: model.name,
    description: model.description,
    task: model.task,
    dtype,
    input: { name: 'x', shape: inputShape(model) },
    target: { name: 'target', dtype: target.dtype, shape: target.shape },
    output: { name: 'y', shape: ['N', ...model.outputShape] },
    parameters: model.parameters.map((p) => ({ name: p.name, shape: [...p.shape] })),
    parameterCount: model.parameterCount,
    optimizer: {
      name: optimizer.name,
      config: { ...optimizer.config },
      stateSlots: [...optimizer.stateSlots],
      // Every slot starts at this value (0 unless listed), e.g. Adagrad's initial_accumulator_value.
      initialState: Object.fromEntries(optimizer.stateSlots.map((slot) => [slot, optimizer.initialState?.[slot] ?? 0])),
    },
    opset: Math.max(...Object.values(opsets)),
    irVersion: IR_VERSION,
    graphs: Object.fromEntries(
      Object.entries(graphs).map(([key, graph]) => [
        key,
        { file: `${key}.onnx`, doc: graph.docString, opset: opsets[key]!, inputs: graph.inputs.map((v) => v.name), outputs: graph.outputs.map((o) => o.name) },
      ]),
    ),
    ...(convolutions?.formulations.length ? { convolutions } : {}),
  };
}
