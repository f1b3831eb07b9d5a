import { mul } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** d(a * b) = b da + a db. */
export const mulGradient: GradientRule = ({ inputs: [a, b], outputGrads: [dy], needsGrad }) => [
  needsGrad(0) ? mul(dy!, b!, { name: 'dA' }) : null,
  needsGrad(1) ? mul(dy!, a!, { name: 'dB' }) : null,
];
