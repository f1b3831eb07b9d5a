import { constantInts, intAttribute } from '../../ir/attributes.ts';
import { expand, shape, unsqueeze } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** Every summed element receives the output gradient: put back the reduced axes, then broadcast. */
export const reduceSumGradient: GradientRule = ({ node, inputs: [x, axesInput], outputGrads: [dy] }) => {
  const axes = axesInput ? constantInts(axesInput) : undefined;
  if (axesInput && !axes) throw new Error(`${node.name}: ReduceSum gradient needs constant axes`);
  return [broadcastReducedGradient(dy!, x!, axes, intAttribute(node, 'keepdims', 1) === 1)];
};

/** Shared by ReduceSum and ReduceMean: expand dy (reduced over `axes`) back to x's shape. */
export function broadcastReducedGradient(
  dy: import('../../ir/graph.ts').Value,
  x: import('../../ir/graph.ts').Value,
  axes: number[] | undefined,
  keepdims: boolean,
) {
  const restored = keepdims || axes === undefined || dy.rank === x.rank ? dy : unsqueeze(dy, axes.map((a) => (a < 0 ? a + x.rank : a)));
  return expand(restored, shape(x), x.shape, { name: 'dX' });
}
