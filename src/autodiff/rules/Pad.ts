import { constantInts } from '../../ir/attributes.ts';
import { reduceSum, slice, sub } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * y = pad(x, begin, end, c): dx = dy[begin : begin + dim] on the padded axes;
 * dc = sum(dy) - sum(dx), the gradient that fell on the padding.
 */
export const padGradient: GradientRule = ({ node, inputs: [x, padsInput], outputGrads: [dy], needsGrad }) => {
  const mode = node.attributes.mode;
  if (mode && !(mode.kind === 'string' && mode.value === 'constant')) throw new Error(`${node.name}: Pad gradient supports constant mode only`);
  const pads = constantInts(padsInput);
  if (!pads) throw new Error(`${node.name}: Pad gradient needs constant pads`);
  const rank = x!.rank;
  const axes = [...Array(rank).keys()].filter((axis) => pads[axis] !== 0 || pads[axis + rank] !== 0);
  const starts = axes.map((axis) => pads[axis]!);
  const ends = axes.map((axis) => pads[axis]! + (x!.shape[axis] as number));
  const dx = axes.length ? slice(dy!, starts, ends, axes, { name: 'dX' }) : dy!;
  return [dx, null, needsGrad(2) ? sub(reduceSum(dy!), reduceSum(dx), { name: 'dConstant' }) : null];
};
