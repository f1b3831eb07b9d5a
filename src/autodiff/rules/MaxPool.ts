import { flatten, reshape, scatterElements, shape, zerosLike } from '../../ir/ops.ts';
import { maxUnpool } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';
import { windowAttributes } from './convGeometry.ts';

/**
 * Each output's gradient goes to the input element that was the maximum.
 * MaxPool's Indices output holds those positions flattened over N·C·H·W.
 * Where windows do not overlap (the homework's MaxPool(2)) every position is
 * taken at most once and MaxUnpool places dY there (B2's pool1: 2.9 against
 * 3.8 ms for pooling and gradient, 2 threads); overlapping windows can share
 * a position, so there the gradient is a scatter-add of dY into zeros. Both
 * differentiate again (MaxUnpool's rule and ScatterElements' are gathers).
 * MaxUnpool has no float64 kernel in onnxruntime: float64 graphs scatter.
 */
export const maxPoolGradient: GradientRule = ({ node, inputs: [x], outputs: [, indices], outputGrads: [dy] }) => {
  if (!indices) throw new Error(`${node.name}: MaxPool's gradient needs its Indices output`);
  const { kernel, strides, pads } = windowAttributes(node, [1, 1]);
  // onnxruntime has MaxUnpool for float32 only; float64 graphs scatter.
  if (x!.dtype === 'float32' && strides[0] >= kernel[0] && strides[1] >= kernel[1]) return [maxUnpool(dy!, indices, x!, { kernel, strides, pads }, { name: 'dX' })];
  const flatInput = flatten(x!, 0);
  const scattered = scatterElements(zerosLike(flatInput), flatten(indices, 0), flatten(dy!, 0), { axis: 1, reduction: 'add' });
  return [reshape(scattered, { shape: shape(x!), staticShape: x!.shape }, { name: 'dX' })];
};
