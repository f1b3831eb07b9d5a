import { mul } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** exp' = exp: reuse the forward output. */
export const expGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => [mul(dy!, y!, { name: 'dX' })];
