import { intAttribute } from '../../ir/attributes.ts';
import { exp, mul, reduceSum, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = x - logsumexp(x): dx = dy - softmax(x) * sum(dy), with softmax = exp(y). */
export const logSoftmaxGradient: GradientRule = ({ node, outputs: [y], outputGrads: [dy] }) => {
  const axis = intAttribute(node, 'axis', -1);
  return [sub(dy!, mul(exp(y!, { name: 'softmax' }), reduceSum(dy!, [axis], true)), { name: 'dX' })];
};
