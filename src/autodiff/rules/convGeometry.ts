/**
 * Geometry shared by the Conv, ConvTranspose and AveragePool rules: reading a
 * node's window attributes, and the paddings that make the adjoint
 * convolutions produce exactly the shapes the forward op had.
 */
import { intsAttribute, intAttribute } from '../../ir/attributes.ts';
import type { Node, Value } from '../../ir/graph.ts';
import type { ResolvedConv2d } from '../../ir/spatialOps.ts';

export function windowAttributes(node: Node, kernel: [number, number]): ResolvedConv2d & { kernel: [number, number] } {
  return {
    kernel: (intsAttribute(node, 'kernel_shape') as [number, number] | undefined) ?? kernel,
    strides: (intsAttribute(node, 'strides') as [number, number] | undefined) ?? [1, 1],
    pads: (intsAttribute(node, 'pads') as [number, number, number, number] | undefined) ?? [0, 0, 0, 0],
    dilations: (intsAttribute(node, 'dilations') as [number, number] | undefined) ?? [1, 1],
    group: intAttribute(node, 'group', 1),
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
