import { mul, scalarLike, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** tanh'(x) = 1 - y^2, using the forward output y itself (not a copy) so it differentiates again. */
export const tanhGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => [
  mul(dy!, sub(scalarLike(y!, 1), mul(y!, y!)), { name: 'dX' }),
];
