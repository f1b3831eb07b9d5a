import { div, mul, neg } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = a / b: da = dy / b, db = -dy * a / b^2 = -dy * y / b (reusing y saves a product). */
export const divGradient: GradientRule = ({ inputs: [, b], outputs: [y], outputGrads: [dy], needsGrad }) => [
  needsGrad(0) ? div(dy!, b!, { name: 'dA' }) : null,
  needsGrad(1) ? neg(div(mul(dy!, y!), b!), { name: 'dB' }) : null,
];
