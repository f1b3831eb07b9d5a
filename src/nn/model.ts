/**
 * The model DSL: a named sequence of layer declarations, resolved into a
 * Model that knows every shape, every parameter and how to emit its forward
 * ops. Declaration mistakes become ModelDeclarationErrors naming the layer.
 */
import type { Value } from '../ir/graph.ts';
import { ModelDeclarationError } from '../util/errors.ts';
import type { ForwardMode, LayerDeclaration, ParameterSpec, ResolvedLayer } from './layer.ts';
import { LayerShapeError } from './layers.ts';

export type Task = 'classification' | 'regression';

export interface ModelDeclaration {
  readonly name: string;
  readonly description: string;
  readonly task: Task;
  /** Per-example input shape: [1, 28, 28] for MNIST, [1] for a 1-D function. */
  readonly inputShape: readonly number[];
  /** What it trains on by default: "mnist", or "function:<name>" for a 1-D regression. */
  readonly dataset: string;
  readonly layers: readonly LayerDeclaration[];
}

export interface Model {
  readonly name: string;
  readonly description: string;
  readonly task: Task;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly dataset: string;
  readonly layers: readonly ResolvedLayer[];
  readonly parameters: readonly ParameterSpec[];
  readonly parameterCount: number;
  /**
   * Emits the forward ops; each layer's nodes are grouped in a scope named
   * after it. Eval behaviour unless `mode.training` (Dropout active).
   */
  forward(x: Value, parameters: ReadonlyMap<string, Value>, mode?: ForwardMode): Value;
}

export function sequential(
  name: string,
  options: { description: string; task: Task; inputShape: number[]; dataset: string },
  layers: LayerDeclaration[],
): ModelDeclaration {
  return { name, ...options, layers };
}

export function resolveModel(declaration: ModelDeclaration): Model {
  const { name: modelName, inputShape, task } = declaration;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(modelName)) {
    throw new ModelDeclarationError(`model name "${modelName}" must be lower-case letters, digits and dashes`);
  }
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ModelDeclarationError(`model ${modelName}: input shape [${inputShape.join(', ')}] must be positive integers`);
  }
  if (declaration.layers.length === 0) throw new ModelDeclarationError(`model ${modelName} has no layers`);

  const counters = new Map<string, number>();
  const usedNames = new Set<string>();
  const layers: ResolvedLayer[] = [];
  let shape: readonly number[] = inputShape;
  declaration.layers.forEach((layer, index) => {
    const count = (counters.get(layer.namePrefix) ?? 0) + 1;
    counters.set(layer.namePrefix, count);
    const layerName = layer.name ?? `${layer.namePrefix}${count}`;
    const where = `model ${modelName}, layer ${index + 1} "${layerName}" (${layer.type})`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(layerName)) throw new ModelDeclarationError(`${where}: invalid layer name`);
    if (usedNames.has(layerName)) throw new ModelDeclarationError(`${where}: the name is used twice; give one layer another name`);
    usedNames.add(layerName);
    try {
      const resolved = layer.resolve(shape, layerName);
      layers.push({ name: layerName, type: layer.type, inputShape: shape, ...resolved });
      shape = resolved.outputShape;
    } catch (error) {
      if (error instanceof LayerShapeError) throw new ModelDeclarationError(`${where}: ${error.message}`);
      throw error;
    }
  });

  const last = layers.at(-1)!;
  const lastLayer = `model ${modelName}, last layer ${layers.length} "${last.name}" (${last.type})`;
  if (task === 'classification' && (shape.length !== 1 || shape[0]! < 2)) {
    throw new ModelDeclarationError(`${lastLayer}: a classifier must end in [classes] with at least 2 classes, ends in [${shape.join(', ')}]`);
  }
  if (task === 'regression' && shape.length !== 1) {
    throw new ModelDeclarationError(`${lastLayer}: a regression model must end in [outputs], ends in [${shape.join(', ')}]`);
  }

  const parameters = layers.flatMap((layer) => layer.parameters);
  return {
    name: modelName,
    description: declaration.description,
    task,
    inputShape,
    outputShape: shape,
    dataset: declaration.dataset,
    layers,
    parameters,
    parameterCount: parameters.reduce((total, p) => total + p.shape.reduce((a, b) => a * b, 1), 0),
    forward(x, parameterValues, mode = { training: false }) {
      return layers.reduce((h, layer) => x.graph.withScope(layer.name, () => layer.apply(h, parameterValues, mode)), x);
    },
  };
}

export function parameterSize(parameter: ParameterSpec): number {
  return parameter.shape.reduce((a, b) => a * b, 1);
}
