import { transpose } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** Transpose back with the inverse permutation. */
export const transposeGradient: GradientRule = ({ node, outputGrads: [dy] }) => {
  const attribute = node.attributes.perm;
  const perm = attribute?.kind === 'ints' ? attribute.value : [...Array(dy!.rank).keys()].reverse();
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [transpose(dy!, inverse, { name: 'dX' })];
};
