import { intAttribute } from '../../ir/attributes.ts';
import { mul, reduceSum, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** dx = y * (dy - sum(dy * y)) along the softmax axis. */
export const softmaxGradient: GradientRule = ({ node, outputs: [y], outputGrads: [dy] }) => {
  const axis = intAttribute(node, 'axis', -1);
  return [mul(y!, sub(dy!, reduceSum(mul(dy!, y!), [axis], true)), { name: 'dX' })];
};
