import { flatten, reshape, scatterElements, shape, zerosLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * Each output's gradient goes to the input element that was the maximum.
 * MaxPool's Indices output holds those positions flattened over N·C·H·W, so
 * the gradient is a scatter-add of dY into zeros of X's size, whose own rule
 * (GatherElements) gives the second derivative.
 */
export const maxPoolGradient: GradientRule = ({ node, inputs: [x], outputs: [, indices], outputGrads: [dy] }) => {
  if (!indices) throw new Error(`${node.name}: MaxPool's gradient needs its Indices output`);
  const flatInput = flatten(x!, 0);
  const scattered = scatterElements(zerosLike(flatInput), flatten(indices, 0), flatten(dy!, 0), { axis: 1, reduction: 'add' });
  return [reshape(scattered, { shape: shape(x!), staticShape: x!.shape }, { name: 'dX' })];
};
