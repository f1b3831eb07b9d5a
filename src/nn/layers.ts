/** The layers a model declaration can use. Each states its shape rule and its forward ops. */
import { flatten as flattenOp, gemm, relu as reluOp, sigmoid as sigmoidOp, tanh as tanhOp } from '../ir/ops.ts';
import type { Value } from '../ir/graph.ts';
import type { LayerDeclaration } from './layer.ts';

class LayerShapeError extends Error {}
export { LayerShapeError };

/** torch.nn.Linear: y = x W^T + b with W of shape [out, in]. */
export function dense(outFeatures: number, options: { name?: string; bias?: boolean } = {}): LayerDeclaration {
  return {
    type: 'Linear',
    name: options.name,
    namePrefix: 'fc',
    resolve(inputShape, name) {
      if (!Number.isInteger(outFeatures) || outFeatures < 1) {
        throw new LayerShapeError(`output size must be a positive integer, got ${outFeatures}`);
      }
      if (inputShape.length !== 1) {
        throw new LayerShapeError(`expects a flat input [features], got [${inputShape.join(', ')}]; add flatten() before it`);
      }
      const inFeatures = inputShape[0]!;
      const bound = 1 / Math.sqrt(inFeatures);
      const withBias = options.bias ?? true;
      return {
        outputShape: [outFeatures],
        parameters: [
          { name: `${name}.weight`, shape: [outFeatures, inFeatures], init: { kind: 'uniform', bound } },
          ...(withBias ? [{ name: `${name}.bias`, shape: [outFeatures], init: { kind: 'uniform' as const, bound } }] : []),
        ],
        apply: (x, parameters) =>
          gemm(x, parameters.get(`${name}.weight`)!, withBias ? parameters.get(`${name}.bias`)! : null, { transB: true }),
      };
    },
  };
}

function activation(type: string, namePrefix: string, op: (x: Value) => Value) {
  return (options: { name?: string } = {}): LayerDeclaration => ({
    type,
    name: options.name,
    namePrefix,
    resolve: (inputShape) => ({ outputShape: [...inputShape], parameters: [], apply: (x) => op(x) }),
  });
}

export const relu = activation('ReLU', 'relu', (x) => reluOp(x));
export const tanh = activation('Tanh', 'tanh', (x) => tanhOp(x));
export const sigmoid = activation('Sigmoid', 'sigmoid', (x) => sigmoidOp(x));

/** torch.nn.Flatten: keeps the batch dimension, flattens the rest. */
export function flatten(options: { name?: string } = {}): LayerDeclaration {
  return {
    type: 'Flatten',
    name: options.name,
    namePrefix: 'flatten',
    resolve: (inputShape) => ({
      outputShape: [inputShape.reduce((a, b) => a * b, 1)],
      parameters: [],
      apply: (x) => flattenOp(x, 1),
    }),
  };
}
