import type { Value } from '../../ir/graph.ts';
import { gather, reduceSum, transpose } from '../../ir/ops.ts';
import { conv, convTranspose } from '../../ir/spatialOps.ts';
import { convFormulationFor } from '../convFormulations.ts';
import type { GradientRule } from '../rule.ts';
import { convLayerShapeOf, spatial, unreachedTail, windowAttributes, windowWeightGradient } from './convGeometry.ts';
import { col2imInputGradient, im2colWeightGradient } from './im2col.ts';

/**
 * Y = conv(X, W) + B.
 * dX: the adjoint, ConvTranspose(dY, W) with the same window, its output
 *     padded back to X's size; or, at stride 1, the equal Conv of dY padded
 *     by k - 1 - p by the kernel flipped in space with in and out swapped;
 *     or W as a matrix times dY, summed into place by Col2Im.
 * dW[o,i,a,b] = Σ_{n,y,x} dY[n,o,y,x] Xpad[n,i,y·s+a·d, x·s+b·d]: a convolution
 *     of X (channels and batch swapped) by dY, with stride and dilation
 *     swapped; or im2col columns of X times dY in one Gemm (im2col.ts).
 * dB: dY summed over batch and space.
 * Which dX and dW a layer gets is convFormulations.ts's choice; all are made
 * of ops with rules of their own, so second derivatives follow.
 */
export const convGradient: GradientRule = ({ node, inputs: [x, w, b], outputGrads: [dy], needsGrad }) => {
  const [kh, kw] = spatial(w!);
  const c = windowAttributes(node, [kh, kw]);
  const [h, wd] = spatial(x!);
  const tailH = unreachedTail(h, kh, c.strides[0], c.pads[0], c.pads[2], c.dilations[0]);
  const tailW = unreachedTail(wd, kw, c.strides[1], c.pads[1], c.pads[3], c.dilations[1]);
  // A Conv inside a weight gradient has the batch as its channels: not a layer, keep the plain rules.
  const isLayer = typeof x!.shape[1] === 'number';
  const formulation = isLayer ? convFormulationFor(convLayerShapeOf(node), node.name) : { weightGradient: 'swapped-conv', inputGradient: 'conv-transpose' };

  let dX = null;
  if (needsGrad(0)) {
    if (formulation.inputGradient === 'flipped-conv') dX = flippedKernelInputGradient(dy!, w!, [kh, kw], c.pads);
    else if (formulation.inputGradient === 'matmul-col2im') dX = col2imInputGradient(dy!, w!, x!, c);
    else dX = convTranspose(dy!, w!, null, { strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group, outputPadding: [tailH, tailW] }, { name: 'dX' });
  }

  let dW = null;
  if (needsGrad(1)) {
    if (c.group !== 1) throw new Error(`${node.name}: the weight gradient of a grouped Conv is not supported`);
    dW = formulation.weightGradient === 'im2col-gemm' ? im2colWeightGradient(x!, dy!, [kh, kw], c) : windowWeightGradient(x!, dy!, c, [tailH, tailW]);
  }
  const dB = b && needsGrad(2) ? reduceSum(dy!, [0, 2, 3], false, { name: 'dB' }) : null;
  return [dX, dW, dB];
};

/** Stride 1, dilation 1: dX = conv(dY padded by k-1-p, W flipped in space and transposed to [C_in, C_out, kH, kW]). */
function flippedKernelInputGradient(dy: Value, w: Value, [kh, kw]: [number, number], pads: [number, number, number, number]): Value {
  const reversed = (k: number) => dy.graph.constant('int64', [k], [...Array(k).keys()].reverse());
  const flipped = transpose(gather(gather(w, reversed(kh), 2), reversed(kw), 3), [1, 0, 2, 3], { name: 'flipped_kernel' });
  const adjointPads: [number, number, number, number] = [kh - 1 - pads[0], kw - 1 - pads[1], kh - 1 - pads[2], kw - 1 - pads[3]];
  return conv(dy, flipped, null, { pads: adjointPads }, { name: 'dX' });
}
