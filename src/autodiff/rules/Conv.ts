import { reduceSum } from '../../ir/ops.ts';
import { convTranspose } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';
import { spatial, unreachedTail, windowAttributes, windowWeightGradient } from './convGeometry.ts';

/**
 * Y = conv(X, W) + B.
 * dX: the adjoint, ConvTranspose(dY, W) with the same window, its output
 *     padded back to X's size.
 * dW[o,i,a,b] = Σ_{n,y,x} dY[n,o,y,x] Xpad[n,i,y·s+a·d, x·s+b·d]: a convolution
 *     of X (channels and batch swapped) by dY, with stride and dilation swapped.
 * dB: dY summed over batch and space.
 * Each is a Conv or ConvTranspose again, so second derivatives follow.
 */
export const convGradient: GradientRule = ({ node, inputs: [x, w, b], outputGrads: [dy], needsGrad }) => {
  const [kh, kw] = spatial(w!);
  const c = windowAttributes(node, [kh, kw]);
  const [h, wd] = spatial(x!);
  const tailH = unreachedTail(h, kh, c.strides[0], c.pads[0], c.pads[2], c.dilations[0]);
  const tailW = unreachedTail(wd, kw, c.strides[1], c.pads[1], c.pads[3], c.dilations[1]);

  const dX = needsGrad(0) ? convTranspose(dy!, w!, null, { strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group, outputPadding: [tailH, tailW] }, { name: 'dX' }) : null;

  let dW = null;
  if (needsGrad(1)) {
    if (c.group !== 1) throw new Error(`${node.name}: the weight gradient of a grouped Conv is not supported`);
    dW = windowWeightGradient(x!, dy!, c, [tailH, tailW]);
  }
  const dB = b && needsGrad(2) ? reduceSum(dy!, [0, 2, 3], false, { name: 'dB' }) : null;
  return [dX, dW, dB];
};
