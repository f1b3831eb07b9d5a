import { intAttribute } from '../../ir/attributes.ts';
import type { Value } from '../../ir/graph.ts';
import { concat, expand, int64Vector, reshape, scatterElements, shape, slice, unsqueeze, zerosLike } from '../../ir/ops.ts';
import { staticSize } from '../../ir/shape.ts';
import type { GradientRule } from '../rule.ts';

/**
 * y = data.take(indices, axis): d data = ScatterElements(0, indices spread to dy's shape, dy, add),
 * so repeated indices accumulate. Indices of rank r != 1 are first flattened to rank 1 (dy with them).
 */
export const gatherGradient: GradientRule = ({ node, inputs: [data, indices], outputGrads: [dy] }) => {
  const rank = data!.rank;
  const axis = (intAttribute(node, 'axis', 0) + rank) % rank;
  const [flatIndices, flatDy] = indices!.rank === 1 ? [indices!, dy!] : flattenIndices(data!, indices!, dy!, axis);
  const leading = [...Array(axis).keys()];
  const trailing = [...Array(rank - axis - 1).keys()].map((i) => axis + 1 + i);
  const spread = expand(unsqueeze(flatIndices, [...leading, ...trailing]), shape(flatDy), flatDy.shape);
  return [scatterElements(zerosLike(data!), spread, flatDy, { axis, reduction: 'add', name: 'dData' }), null];
};

/** indices -> [k]; dy -> data.shape[:axis] + [k] + data.shape[axis+1:], with k = indices' size. */
function flattenIndices(data: Value, indices: Value, dy: Value, axis: number): [Value, Value] {
  const k = staticSize(indices.shape) ?? indices.shape.join('*');
  const flatIndices = reshape(indices, { shape: int64Vector(indices, [-1]), staticShape: [k] });
  const dataShape = shape(data);
  const pieces = [
    ...(axis > 0 ? [slice(dataShape, [0], [axis])] : []),
    int64Vector(indices, [-1]),
    ...(axis + 1 < data.rank ? [slice(dataShape, [axis + 1], [data.rank])] : []),
  ];
  const staticShape = [...data.shape.slice(0, axis), k, ...data.shape.slice(axis + 1)];
  return [flatIndices, reshape(dy, { shape: concat(pieces, 0), staticShape })];
}
