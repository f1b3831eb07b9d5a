import { log, mul, pow, scalarLike, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = a^b: da = dy * b * a^(b-1), db = dy * y * ln(a). */
export const powGradient: GradientRule = ({ inputs: [a, b], outputs: [y], outputGrads: [dy], needsGrad }) => [
  needsGrad(0) ? mul(dy!, mul(b!, pow(a!, sub(b!, scalarLike(b!, 1)))), { name: 'dA' }) : null,
  needsGrad(1) ? mul(dy!, mul(y!, log(a!)), { name: 'dB' }) : null,
];
