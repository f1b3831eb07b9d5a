import { cos, mul } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** sin' = cos. */
export const sinGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [mul(dy!, cos(x!), { name: 'dX' })];
