import { constantInts } from '../../ir/attributes.ts';
import type { GradientRule } from '../rule.ts';
import { windowAttributes } from './convGeometry.ts';
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
  // Col2Im has no kernel_shape attribute: the block shape stands in for it.
  const c = windowAttributes(node, kernel as [number, number]);
  return [imageColumns(dy!, c.kernel, c), null, null];
};
