import { intAttribute, intsAttribute } from '../../ir/attributes.ts';
import { add, mul } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';
import { broadcastReducedGradient } from './ReduceSum.ts';

/** y = Σ x²: dx = 2 x dy, with dy spread back over the reduced axes. */
export const reduceSumSquareGradient: GradientRule = ({ node, inputs: [x], outputGrads: [dy] }) => {
  const spread = broadcastReducedGradient(dy!, x!, intsAttribute(node, 'axes'), intAttribute(node, 'keepdims', 1) === 1);
  return [mul(spread, add(x!, x!), { name: 'dX' })];
};
