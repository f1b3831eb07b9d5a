import { mul, sign } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * relu'(x) = 1 where x > 0, else 0 (PyTorch's choice at 0), which is
 * sign(y) for y = relu(x) ≥ 0: dx = dy · sign(y). Two plain elementwise ops
 * (onnxruntime's Where with a broadcast zero is several times slower), and
 * Sign's derivative is zero, so the second derivative is right too.
 */
export const reluGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => [mul(dy!, sign(y!, { name: 'active' }), { name: 'dX' })];
