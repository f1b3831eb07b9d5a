import { mul, sign } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * relu'(x) = 1 where x > 0, else 0 (PyTorch's choice at 0), as the float
 * mask sign(relu(x)) times dy. A Mul by a mask runs about 3x faster in
 * onnxruntime than Where(x > 0, dy, 0), and the mask is one op on the
 * output. Sign has no gradient, so the second derivative through the mask is
 * zero, as it is almost everywhere.
 */
export const reluGradient: GradientRule = ({ outputs: [y], outputGrads: [dy] }) => {
  return [mul(dy!, sign(y!, { name: 'active' }), { name: 'dX' })];
};
