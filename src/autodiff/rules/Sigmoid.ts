import { mul, scalarLike, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** sigmoid'(x) = y (1 - y), with y the forward output value. */
export const sigmoidGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => [
  mul(dy!, mul(y!, sub(scalarLike(y!, 1), y!)), { name: 'dX' }),
];
