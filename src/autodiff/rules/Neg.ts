import { neg } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

export const negGradient: GradientRule = ({ outputGrads: [dy] }) => [neg(dy!, { name: 'dX' })];
