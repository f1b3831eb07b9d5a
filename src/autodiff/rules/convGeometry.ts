/**
 * Geometry shared by the Conv, ConvTranspose and AveragePool rules: reading a
 * node's window attributes, and the paddings that make the adjoint
 * convolutions produce exactly the shapes the forward op had.
 */
import { intsAttribute, intAttribute } from '../../ir/attributes.ts';
import type { Node, Value } from '../../ir/graph.ts';
import { transpose } from '../../ir/ops.ts';
import { conv, type ResolvedConv2d } from '../../ir/spatialOps.ts';
import { cropEnd } from './crop.ts';
import type { ConvLayerShape } from '../convFormulations.ts';

export function windowAttributes(node: Node, kernel: [number, number]): ResolvedConv2d & { kernel: [number, number] } {
  return {
    kernel: (intsAttribute(node, 'kernel_shape') as [number, number] | undefined) ?? kernel,
    strides: (intsAttribute(node, 'strides') as [number, number] | undefined) ?? [1, 1],
    pads: (intsAttribute(node, 'pads') as [number, number, number, number] | undefined) ?? [0, 0, 0, 0],
    dilations: (intsAttribute(node, 'dilations') as [number, number] | undefined) ?? [1, 1],
    group: intAttribute(node, 'group', 1),
  };
}

/** A forward Conv node's layer shape, what convFormulations.ts chooses by (the tuner finds layers with it too). */
export function convLayerShapeOf(node: Node): ConvLayerShape {
  const [x, w] = node.inputs as [Value, Value];
  const c = windowAttributes(node, spatial(w));
  const [height, width] = spatial(x);
  return {
    dtype: x.dtype,
    inChannels: x.shape[1] as number,
    outChannels: w.shape[0] as number,
    height,
    width,
    kernel: c.kernel,
    strides: c.strides,
    pads: c.pads,
    dilations: c.dilations,
    group: c.group,
  };
}

export function spatial(value: Value): [number, number] {
  return [value.shape[2] as number, value.shape[3] as number];
}

/**
 * Rows (columns) at the end of a padded input that no window reached: a
 * strided window stops before them. The adjoint ConvTranspose restores them
 * as output padding; the weight-gradient convolution must not see them.
 */
export function unreachedTail(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return (size + padBegin + padEnd - dilation * (kernel - 1) - 1) % stride;
}

/**
 * The weight gradient of a convolution window, shared by Conv and
 * ConvTranspose: dW[a,b] = Σ signal_pad[y·s+a·d, x·s+b·d] · kernel[y, x] over
 * batch and space, computed as one Conv of `signal` by `kernel` with batch
 * and channels swapped and stride and dilation exchanged. `tail` rows and
 * columns at the end of the signal never met the window: they are dropped
 * from the end padding, or cropped from the signal where the padding is
 * smaller. Returns [kernel channels, signal channels, kH, kW] transposed to
 * [signal-side, kernel-side] as the weight layout needs.
 */
export function windowWeightGradient(signal: Value, kernel: Value, c: ResolvedConv2d, tail: [number, number]): Value {
  const [h, w] = spatial(signal);
  const cropH = Math.max(0, tail[0] - c.pads[2]);
  const cropW = Math.max(0, tail[1] - c.pads[3]);
  const cropped = cropH || cropW ? cropEnd(signal, [h - cropH, w - cropW]) : signal;
  const pads: [number, number, number, number] = [c.pads[0], c.pads[1], c.pads[2] - (tail[0] - cropH), c.pads[3] - (tail[1] - cropW)];
  const correlation = conv(transpose(cropped, [1, 0, 2, 3]), transpose(kernel, [1, 0, 2, 3]), null, { strides: c.dilations, dilations: c.strides, pads });
  return transpose(correlation, [1, 0, 2, 3], { name: 'dW' });
}
