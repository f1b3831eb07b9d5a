import { mul, sign } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** |x|' = sign(x) (0 at 0, as PyTorch); Sign is non-differentiable, so the second derivative is 0 a.e. */
export const absGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [mul(dy!, sign(x!), { name: 'dX' })];
