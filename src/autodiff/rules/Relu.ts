import { greater, scalarLike, where } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * relu'(x) = 1 where x > 0, else 0 (PyTorch's choice at 0). Written as Where
 * so the second derivative is the (zero almost everywhere) derivative of Where.
 */
export const reluGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => {
  const zero = scalarLike(x!, 0);
  return [where(greater(x!, zero, { name: 'active' }), dy!, zero, { name: 'dX' })];
};
