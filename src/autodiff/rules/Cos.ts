import { mul, neg, sin } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** cos' = -sin. */
export const cosGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [neg(mul(dy!, sin(x!)), { name: 'dX' })];
