import { constantInts, intsAttribute } from '../../ir/attributes.ts';
import { resolveConv2d } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';
import { imageColumns } from './im2col.ts';

/**
 * Col2Im sums each column into its window of the image, so its adjoint reads
 * each window back out: d(columns) = im2col(d(image)) in Col2Im's layout
 * (rules/im2col.ts, a Gather with a rule of its own). The image and block
 * shapes are constants.
 */
export const col2imGradient: GradientRule = ({ node, inputs: [, , blockShape], outputGrads: [dy] }) => {
  const kernel = constantInts(blockShape);
  if (kernel?.length !== 2) throw new Error(`${node.name}: Col2Im's block shape must be a constant pair`);
  const c = resolveConv2d({
    strides: intsAttribute(node, 'strides') as [number, number] | undefined,
    pads: intsAttribute(node, 'pads') as [number, number, number, number] | undefined,
    dilations: intsAttribute(node, 'dilations') as [number, number] | undefined,
  });
  return [imageColumns(dy!, kernel as [number, number], c), null, null];
};
