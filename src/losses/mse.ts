import type { Value } from '../ir/graph.ts';
import { mul, reduceMean, reduceSum, sub } from '../ir/ops.ts';
import type { Reduction } from './crossEntropy.ts';

/** torch.nn.functional.mse_loss: the mean (or sum) of squared errors over all elements. */
export function meanSquaredError(prediction: Value, target: Value, reduction: Exclude<Reduction, 'none'> = 'mean'): Value {
  return prediction.graph.withScope('mse', () => {
    const error = sub(prediction, target, { name: 'error' });
    const squared = mul(error, error, { name: 'squared' });
    return reduction === 'mean' ? reduceMean(squared, undefined, false, { name: 'mean' }) : reduceSum(squared, undefined, false, { name: 'sum' });
  });
}
