import { reshape, shape } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * Reshape, Flatten, Squeeze and Unsqueeze only relabel the elements: the
 * gradient is the output gradient reshaped to the input's runtime shape.
 */
export const reshapeGradient: GradientRule = ({ inputs: [x], outputGrads: [dy] }) => [
  reshape(dy!, { shape: shape(x!), staticShape: x!.shape }, { name: 'dX' }),
];
