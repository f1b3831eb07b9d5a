import { flatten, gatherElements, reshape, shape } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y[indices[i]] = x[i] in zeros (indices distinct, flat over y): dx = dy read back at the indices. */
export const maxUnpoolGradient: GradientRule = ({ inputs: [x, indices], outputGrads: [dy], needsGrad }) => {
  if (!needsGrad(0)) return [null];
  const gathered = gatherElements(flatten(dy!, 0), flatten(indices!, 0), 1, { name: 'gathered' });
  return [reshape(gathered, { shape: shape(x!), staticShape: x!.shape }, { name: 'dX' })];
};
