/**
 * The inputs every program of a model shares, declared once so that all the
 * graphs agree on names, dtypes and shapes: `x`, the parameters by their
 * state_dict names, and `target` where a loss is computed.
 */
import { Graph, type Value } from '../ir/graph.ts';
import type { Model } from '../nn/model.ts';
import type { Shape } from '../ir/shape.ts';
import { softmaxCrossEntropy, type Reduction } from '../losses/crossEntropy.ts';
import { meanSquaredError } from '../losses/mse.ts';

export type FloatType = 'float32' | 'float64';
export const BATCH = 'N';

export interface ModelGraph {
  graph: Graph;
  x: Value;
  parameters: Map<string, Value>;
}

export function inputShape(model: Model): Shape {
  return [BATCH, ...model.inputShape];
}

export function targetSignature(model: Model, dtype: FloatType): { dtype: 'int64' | FloatType; shape: Shape } {
  return model.task === 'classification' ? { dtype: 'int64', shape: [BATCH] } : { dtype, shape: [BATCH, ...model.outputShape] };
}

export function modelGraph(
  model: Model,
  graphName: string,
  doc: string,
  dtype: FloatType,
  xOverride?: { shape: Shape; doc: string },
): ModelGraph {
  const graph = new Graph(`${model.name}/${graphName}`, doc);
  const x = graph.addInput('x', dtype, xOverride?.shape ?? inputShape(model), xOverride?.doc ?? `a batch of inputs, [N, ${model.inputShape.join(', ')}]`);
  const parameters = new Map<string, Value>();
  for (const parameter of model.parameters) {
    parameters.set(parameter.name, graph.addInput(parameter.name, dtype, parameter.shape, `parameter ${parameter.name} (PyTorch layout)`));
  }
  return { graph, x, parameters };
}

export function addTarget(graph: Graph, model: Model, dtype: FloatType): Value {
  const { dtype: targetType, shape } = targetSignature(model, dtype);
  const doc = model.task === 'classification' ? 'class indices, int64 [N]' : `regression targets, [N, ${model.outputShape.join(', ')}]`;
  return graph.addInput('target', targetType, shape, doc);
}

/** The training loss: cross-entropy for classifiers, mean squared error for regression. */
export function lossOf(model: Model, prediction: Value, target: Value, reduction: Exclude<Reduction, 'none'>): Value {
  return prediction.graph.withScope('loss', () =>
    model.task === 'classification' ? softmaxCrossEntropy(prediction, target, reduction) : meanSquaredError(prediction, target, reduction),
  );
}
