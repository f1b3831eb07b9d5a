import { intsAttribute } from '../../ir/attributes.ts';
import { reduceSum } from '../../ir/ops.ts';
import { conv } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';
import { spatial, windowAttributes, windowWeightGradient } from './convGeometry.ts';

/**
 * Y = convTranspose(X, W) + B, the adjoint of a convolution.
 * dX = conv(dY, W) with the same window (the output padding is never read).
 * dW[i,o,a,b] = Σ X[n,i,y,x] dYpad[n,o,y·s+a·d, x·s+b·d]: a convolution of dY
 *     (channels and batch swapped) by X, stride and dilation swapped.
 */
export const convTransposeGradient: GradientRule = ({ node, inputs: [x, w, b], outputGrads: [dy], needsGrad }) => {
  const [kh, kw] = spatial(w!);
  const c = windowAttributes(node, [kh, kw]);
  const [outputPadH, outputPadW] = (intsAttribute(node, 'output_padding') as [number, number] | undefined) ?? [0, 0];

  const dX = needsGrad(0) ? conv(dy!, w!, null, c, { name: 'dX' }) : null;

  let dW = null;
  if (needsGrad(1)) {
    if (c.group !== 1) throw new Error(`${node.name}: the weight gradient of a grouped ConvTranspose is not supported`);
    dW = windowWeightGradient(dy!, x!, c, [outputPadH, outputPadW]);
  }
  const dB = b && needsGrad(2) ? reduceSum(dy!, [0, 2, 3], false, { name: 'dB' }) : null;
  return [dX, dW, dB];
};
