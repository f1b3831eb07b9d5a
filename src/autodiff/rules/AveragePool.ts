import { intAttribute } from '../../ir/attributes.ts';
import { convTranspose } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';
import { spatial, unreachedTail, windowAttributes } from './convGeometry.ts';

/**
 * Average pooling (padding counted, as PyTorch's default) is a depthwise
 * convolution with a constant 1/(kH·kW) kernel, so its gradient is that
 * kernel's depthwise ConvTranspose, which has a rule of its own.
 */
export const averagePoolGradient: GradientRule = ({ node, inputs: [x], outputGrads: [dy] }) => {
  const channels = x!.shape[1];
  if (typeof channels !== 'number') throw new Error(`${node.name}: AveragePool's gradient needs a static channel count`);
  const window = windowAttributes(node, [1, 1]);
  const [kh, kw] = window.kernel;
  const padded = window.pads.some((p) => p > 0);
  if (padded && intAttribute(node, 'count_include_pad', 0) !== 1) {
    throw new Error(`${node.name}: the gradient of AveragePool with padding needs count_include_pad=1 (PyTorch's default)`);
  }
  const [h, w] = spatial(x!);
  const kernel = x!.graph.constant(dy!.dtype, [channels, 1, kh, kw], new Array(channels * kh * kw).fill(1 / (kh * kw)));
  const outputPadding: [number, number] = [
    unreachedTail(h, kh, window.strides[0], window.pads[0], window.pads[2], 1),
    unreachedTail(w, kw, window.strides[1], window.pads[1], window.pads[3], 1),
  ];
  return [convTranspose(dy!, kernel, null, { strides: window.strides, pads: window.pads, group: channels, outputPadding }, { name: 'dX' })];
};
