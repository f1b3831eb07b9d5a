import { intAttribute } from '../../ir/attributes.ts';
import { slice } from '../../ir/ops.ts';
import { formatShape, normalizeAxis } from '../../ir/shape.ts';
import type { GradientRule } from '../rule.ts';

/** y = concat(x_1, ..., x_n): dx_i = dy[offset_i : offset_i + size_i] along the axis. */
export const concatGradient: GradientRule = ({ node, inputs, outputGrads: [dy], needsGrad }) => {
  const axis = normalizeAxis(intAttribute(node, 'axis', 0), dy!.rank, `${node.name} gradient`);
  const sizes = inputs.map((x) => {
    const size = x!.shape[axis]!;
    if (typeof size !== 'number') {
      throw new Error(`${node.name}: Concat gradient needs static sizes along axis ${axis}; ${x!.name} is ${formatShape(x!.shape)}`);
    }
    return size;
  });
  let offset = 0;
  return sizes.map((size, i) => {
    const start = offset;
    offset += size;
    return needsGrad(i) ? slice(dy!, [start], [start + size], [axis], { name: `dX${i}` }) : null;
  });
};
