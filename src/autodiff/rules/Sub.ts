import { neg } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** d(a - b) = da - db. */
export const subGradient: GradientRule = ({ outputGrads: [dy], needsGrad }) => [
  dy,
  needsGrad(1) ? neg(dy!, { name: 'dB' }) : null,
];
