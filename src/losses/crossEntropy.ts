import type { Value } from '../ir/graph.ts';
import { cast, equal, logSoftmax, mul, neg, reduceMean, reduceSum, unsqueeze } from '../ir/ops.ts';

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * torch.nn.functional.cross_entropy with integer labels, composed from
 * primitives (LogSoftmax, a one-hot mask, a sum) so that its gradient and
 * second derivative come from their rules: -log softmax(logits)[label].
 */
export function softmaxCrossEntropy(logits: Value, labels: Value, reduction: Reduction = 'mean'): Value {
  const classes = logits.shape[1] as number;
  const graph = logits.graph;
  return graph.withScope('cross_entropy', () => {
    const logProbabilities = logSoftmax(logits, 1, { name: 'log_probabilities' });
    const classIndices = graph.constant('int64', [classes], [...Array(classes).keys()]);
    const oneHot = cast(equal(unsqueeze(labels, [1]), classIndices), logits.dtype, { name: 'one_hot' });
    const perExample = neg(reduceSum(mul(oneHot, logProbabilities), [1]), { name: 'per_example' });
    if (reduction === 'none') return perExample;
    return reduction === 'mean' ? reduceMean(perExample, undefined, false, { name: 'mean' }) : reduceSum(perExample, undefined, false, { name: 'sum' });
  });
}
