import { intAttribute, intsAttribute } from '../../ir/attributes.ts';
import { argMax, equal, scalarLike, unsqueeze, where } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * The gradient goes to the first maximal element along the axis (ArgMax's
 * choice on ties), as MaxPool's indices and PyTorch's max_pool2d choose:
 * ties are common (a ReLU's zeros, a constant background), and sharing the
 * gradient among them would be another function's derivative. The mask
 * depends on x only through comparisons, so the second derivative through
 * it is zero, as for MaxPool.
 */
export const reduceMaxGradient: GradientRule = ({ node, inputs: [x], outputGrads: [dy] }) => {
  const axes = intsAttribute(node, 'axes');
  if (!axes || axes.length !== 1) throw new Error(`${node.name}: ReduceMax's gradient supports exactly one axis`);
  const axis = (axes[0]! + x!.rank) % x!.rank;
  const keepdims = intAttribute(node, 'keepdims', 1) === 1;
  const count = x!.shape[axis];
  if (typeof count !== 'number') throw new Error(`${node.name}: ReduceMax's gradient needs a static size along axis ${axis}`);
  const first = argMax(x!, axis, true, { name: 'first_max' });
  const positions = x!.graph.constant('int64', x!.shape.map((_, i) => (i === axis ? count : 1)), [...Array(count).keys()]);
  const spread = keepdims ? dy! : unsqueeze(dy!, [axis]);
  return [where(equal(first, positions, { name: 'is_first_max' }), spread, scalarLike(spread, 0), { name: 'dX' })];
};
