import { isFloating } from '../../ir/dtype.ts';
import { cast } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** A cast between float types passes the gradient back in the input's type. */
export const castGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [
  isFloating(x!.dtype) ? cast(dy!, x!.dtype, { name: 'dX' }) : null,
];
