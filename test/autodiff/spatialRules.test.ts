import { describe, it } from 'node:test';
import * as op from '../../src/ir/ops.ts';
import { averagePool, conv, convTranspose, maxPool } from '../../src/ir/spatialOps.ts';
import { Random } from '../../src/util/random.ts';
import { checkGradients } from '../support/gradcheck.ts';

// Conv, ConvTranspose and AveragePool have no float64 kernels in onnxruntime:
// their rules are checked in float32 on smooth functions (tanh after the op),
// relative error below 1e-3; PyTorch's own gradients are compared in
// pytorchReference.test.ts.
const f32 = { dtype: 'float32' as const };
// Small inputs keep tanh away from saturation, where float32 finite differences lose their digits.
const small = (random: Random) => random.uniform(-0.5, 0.5);

const convCases: Array<{ label: string; x: number[]; w: number[]; attributes: Parameters<typeof conv>[3] }> = [
  { label: '3x3, stride 1, no padding', x: [2, 2, 6, 6], w: [3, 2, 3, 3], attributes: {} },
  { label: '3x3, stride 2, padding 1', x: [2, 2, 7, 7], w: [3, 2, 3, 3], attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { label: '2x3, stride (2,1), asymmetric padding, dilation 2', x: [1, 3, 8, 7], w: [2, 3, 2, 3], attributes: { strides: [2, 1], pads: [1, 0, 0, 2], dilations: [2, 1] } },
  { label: '5x5 as LeNet', x: [2, 1, 12, 12], w: [4, 1, 5, 5], attributes: {} },
];

describe('spatial gradient rules (float32, finite differences)', () => {
  for (const order of [1, 2] as const) {
    for (const { label, x, w, attributes } of convCases) {
      it(`Conv ${label}, order ${order}`, async () => {
        await checkGradients((a, b, c) => op.tanh(conv(a, b, c, attributes)), [{ shape: x, sample: small }, { shape: w, sample: small }, { shape: [w[0]!], sample: small }], { ...f32, order });
      });
      it(`ConvTranspose ${label}, order ${order}`, async () => {
        const inChannels = w[0]!;
        await checkGradients(
          (a, b) => op.tanh(convTranspose(a, b, null, attributes)),
          [{ shape: [x[0]!, inChannels, 4, 4], sample: small }, { shape: [inChannels, w[1]!, w[2]!, w[3]!], sample: small }],
          { ...f32, order },
        );
      });
    }
    it(`AveragePool 2x2 stride 2 and 3x3 stride 2 padding 1, order ${order}`, async () => {
      await checkGradients((a) => op.tanh(op.mul(averagePool(a, { kernel: [2, 2] }), a.graph.constant('float32', [], [3]))), [{ shape: [2, 3, 6, 6] }], { ...f32, order });
      await checkGradients((a) => op.tanh(averagePool(op.mul(a, a), { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })), [{ shape: [1, 2, 7, 7] }], { ...f32, order });
    });
  }
});
