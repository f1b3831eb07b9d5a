import { intAttribute } from '../../ir/attributes.ts';
import { concat, zerosLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** [y_1, ..., y_n] = split(x): dx = concat(dy_1, ..., dy_n), zeros for pieces that got no gradient. */
export const splitGradient: GradientRule = ({ node, outputs, outputGrads }) => {
  const axis = intAttribute(node, 'axis', 0);
  const pieces = outputGrads.map((dy, i) => dy ?? zerosLike(outputs[i]!, { name: `zeros${i}` }));
  return [concat(pieces, axis, { name: 'dX' }), null];
};
