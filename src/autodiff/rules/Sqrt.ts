import { add, div } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** sqrt'(x) = 1 / (2 y). */
export const sqrtGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => [div(dy!, add(y!, y!), { name: 'dX' })];
