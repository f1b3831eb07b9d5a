/** The layers a model declaration can use. Each states its shape rule and its forward ops. */
import { flatten as flattenOp, gemm, relu as reluOp, sigmoid as sigmoidOp, tanh as tanhOp } from '../ir/ops.ts';
import type { Value } from '../ir/graph.ts';
import { averagePool as averagePoolOp, conv as convOp, convOutputSize, dropout as dropoutOp, maxPool as maxPoolOp } from '../ir/spatialOps.ts';
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
        attributes: { in_features: inFeatures, out_features: outFeatures, bias: withBias },
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
    resolve: (inputShape) => ({ outputShape: [...inputShape], parameters: [], attributes: {}, apply: (x) => op(x) }),
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
      attributes: { start_dim: 1 },
      apply: (x) => flattenOp(x, 1),
    }),
  };
}

type Pair = number | [number, number];
const pair = (value: Pair): [number, number] => (Array.isArray(value) ? value : [value, value]);

function requireImage(inputShape: readonly number[]): [number, number, number] {
  if (inputShape.length !== 3) {
    throw new LayerShapeError(`expects an image input [channels, height, width], got [${inputShape.join(', ')}]`);
  }
  return inputShape as [number, number, number];
}

function windowOutput(size: number, kernel: number, stride: number, padding: number, what: string): number {
  const out = convOutputSize(size, kernel, stride, padding, padding);
  if (out < 1) throw new LayerShapeError(`a ${what} of ${kernel} (stride ${stride}, padding ${padding}) does not fit a side of ${size}`);
  return out;
}

/** torch.nn.Conv2d: weight [out, in, kH, kW], bias [out], PyTorch's default init bound 1/sqrt(in·kH·kW). */
export function conv2d(
  outChannels: number,
  kernelSize: Pair,
  options: { stride?: Pair; padding?: Pair; bias?: boolean; name?: string } = {},
): LayerDeclaration {
  return {
    type: 'Conv2d',
    name: options.name,
    namePrefix: 'conv',
    resolve(inputShape, name) {
      const [inChannels, height, width] = requireImage(inputShape);
      if (!Number.isInteger(outChannels) || outChannels < 1) throw new LayerShapeError(`output channels must be a positive integer, got ${outChannels}`);
      const [kh, kw] = pair(kernelSize);
      const [sh, sw] = pair(options.stride ?? 1);
      const [ph, pw] = pair(options.padding ?? 0);
      const outputShape = [outChannels, windowOutput(height, kh, sh, ph, 'kernel'), windowOutput(width, kw, sw, pw, 'kernel')];
      const bound = 1 / Math.sqrt(inChannels * kh * kw);
      const withBias = options.bias ?? true;
      return {
        outputShape,
        attributes: { in_channels: inChannels, out_channels: outChannels, kernel_size: [kh, kw], stride: [sh, sw], padding: [ph, pw], bias: withBias },
        parameters: [
          { name: `${name}.weight`, shape: [outChannels, inChannels, kh, kw], init: { kind: 'uniform', bound } },
          ...(withBias ? [{ name: `${name}.bias`, shape: [outChannels], init: { kind: 'uniform' as const, bound } }] : []),
        ],
        apply: (x, parameters) =>
          convOp(x, parameters.get(`${name}.weight`)!, withBias ? parameters.get(`${name}.bias`)! : null, { strides: [sh, sw], pads: [ph, pw, ph, pw] }),
      };
    },
  };
}

function pool(type: 'MaxPool2d' | 'AvgPool2d', namePrefix: string) {
  return (kernelSize: Pair, options: { stride?: Pair; padding?: Pair; name?: string } = {}): LayerDeclaration => ({
    type,
    name: options.name,
    namePrefix,
    resolve(inputShape) {
      const [channels, height, width] = requireImage(inputShape);
      const [kh, kw] = pair(kernelSize);
      const [sh, sw] = pair(options.stride ?? kernelSize);
      const [ph, pw] = pair(options.padding ?? 0);
      if (ph > kh / 2 || pw > kw / 2) throw new LayerShapeError(`padding must be at most half the kernel size (as in PyTorch)`);
      const attributes = { kernel: [kh, kw] as [number, number], strides: [sh, sw] as [number, number], pads: [ph, pw, ph, pw] as [number, number, number, number] };
      return {
        outputShape: [channels, windowOutput(height, kh, sh, ph, 'window'), windowOutput(width, kw, sw, pw, 'window')],
        parameters: [],
        attributes: { kernel_size: [kh, kw], stride: [sh, sw], padding: [ph, pw] },
        apply: (x) => (type === 'MaxPool2d' ? maxPoolOp(x, attributes).y : averagePoolOp(x, attributes)),
      };
    },
  });
}

/** torch.nn.MaxPool2d (stride defaults to the kernel size). */
export const maxPool2d = pool('MaxPool2d', 'pool');
/** torch.nn.AvgPool2d with count_include_pad=True. */
export const avgPool2d = pool('AvgPool2d', 'avgpool');

/**
 * torch.nn.Dropout: in training, zeroes elements with probability p and
 * scales the rest by 1/(1-p); in eval, the identity. Each dropout layer gets
 * a fixed seed derived from its name, so runs repeat exactly.
 */
export function dropout(p = 0.5, options: { name?: string; seed?: number } = {}): LayerDeclaration {
  return {
    type: 'Dropout',
    name: options.name,
    namePrefix: 'dropout',
    resolve(inputShape, name) {
      if (!(p >= 0 && p < 1)) throw new LayerShapeError(`p must be in [0, 1), got ${p}`);
      const seed = options.seed ?? [...name].reduce((hash, ch) => (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0, 17);
      return {
        outputShape: [...inputShape],
        parameters: [],
        attributes: { p, seed },
        apply: (x, _parameters, mode) => (mode.training && p > 0 ? dropoutOp(x, p, seed).y : x),
      };
    },
  };
}
