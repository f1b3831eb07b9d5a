import { constantInts } from '../../ir/attributes.ts';
import { pad, resolveSlice } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = x[start:end] on some axes: dx = dy padded with zeros, start before and dim - end after. */
export const sliceGradient: GradientRule = ({ node, inputs: [x, startsInput, endsInput, axesInput, stepsInput], outputGrads: [dy] }) => {
  const [starts, ends, axes, steps] = [startsInput, endsInput, axesInput, stepsInput].map(constantInts);
  if (!starts || !ends || (axesInput && !axes) || (stepsInput && !steps)) {
    throw new Error(`${node.name}: Slice gradient needs constant starts, ends, axes and steps`);
  }
  if (steps?.some((step) => step !== 1)) throw new Error(`${node.name}: Slice gradient supports step 1 only, got steps [${steps}]`);
  const pads = new Array<number>(2 * x!.rank).fill(0);
  for (const { axis, start, end } of resolveSlice(x!.shape, starts, ends, axes, `${node.name} gradient`)) {
    pads[axis] = start;
    pads[axis + x!.rank] = (x!.shape[axis] as number) - end;
  }
  return [pad(dy!, pads, 0, { name: 'dX' })];
};
