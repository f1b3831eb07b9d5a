import { div } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

export const logGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [div(dy!, x!, { name: 'dX' })];
