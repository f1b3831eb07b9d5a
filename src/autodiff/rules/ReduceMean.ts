import { intAttribute, intsAttribute } from '../../ir/attributes.ts';
import { cast, div, scalarLike, size } from '../../ir/ops.ts';
import { staticSize } from '../../ir/shape.ts';
import type { GradientRule } from '../rule.ts';
import { broadcastReducedGradient } from './ReduceSum.ts';

/**
 * Like ReduceSum, divided by the number of elements averaged. That count is
 * a constant when the shapes are static, else size(x) / size(y) at run time
 * (the batch mean over a symbolic batch dimension).
 */
export const reduceMeanGradient: GradientRule = ({ node, inputs: [x], outputs: [y], outputGrads: [dy] }) => {
  const spread = broadcastReducedGradient(dy!, x!, intsAttribute(node, 'axes'), intAttribute(node, 'keepdims', 1) === 1);
  const inSize = staticSize(x!.shape);
  const outSize = staticSize(y!.shape);
  const count =
    inSize !== undefined && outSize !== undefined
      ? scalarLike(x!, inSize / outSize)
      : div(cast(size(x!), x!.dtype), cast(size(y!), x!.dtype), { name: 'count' });
  return [div(spread, count, { name: 'dX' })];
};
