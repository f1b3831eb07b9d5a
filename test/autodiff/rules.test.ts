import { describe, it } from 'node:test';
import * as op from '../../src/ir/ops.ts';
import { awayFromZero, checkGradients, positive } from '../support/gradcheck.ts';

// Every rule, first and second order, on random shapes that include broadcasting.
const orders = [1, 2] as const;

describe('gradient rules match central finite differences in float64', () => {
  for (const order of orders) {
    describe(`order ${order}`, () => {
      it('Add broadcasts [3,4] + [4] and [2,1,4] + [3,1]', async () => {
        await checkGradients((a, b) => op.add(a, b), [{ shape: [3, 4] }, { shape: [4] }], { order });
        await checkGradients((a, b) => op.add(a, b), [{ shape: [2, 1, 4] }, { shape: [3, 1] }], { order });
      });
      it('Sub broadcasts [2,3] - [1,3]', async () => {
        await checkGradients((a, b) => op.sub(a, b), [{ shape: [2, 3] }, { shape: [1, 3] }], { order });
      });
      it('Mul broadcasts [4,1] * [1,5] and a scalar', async () => {
        await checkGradients((a, b) => op.mul(a, b), [{ shape: [4, 1] }, { shape: [1, 5] }], { order });
        await checkGradients((a, b) => op.mul(a, b), [{ shape: [3, 2] }, { shape: [] }], { order });
      });
      it('Div broadcasts [3,4] / [4]', async () => {
        await checkGradients((a, b) => op.div(a, b), [{ shape: [3, 4] }, { shape: [4], sample: positive }], { order });
      });
      it('Pow with base and exponent', async () => {
        await checkGradients((a, b) => op.pow(a, b), [{ shape: [2, 3], sample: positive }, { shape: [3], sample: positive }], { order });
      });
      it('MatMul [3,4]x[4,2] and batched [2,3,4]x[4,5]', async () => {
        await checkGradients((a, b) => op.matmul(a, b), [{ shape: [3, 4] }, { shape: [4, 2] }], { order });
        await checkGradients((a, b) => op.matmul(a, b), [{ shape: [2, 3, 4] }, { shape: [4, 5] }], { order });
      });
      for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        it(`Gemm transA=${transA} transB=${transB} alpha=0.5 beta=2 with broadcast bias`, async () => {
          const a = transA ? [4, 3] : [3, 4];
          const b = transB ? [5, 4] : [4, 5];
          await checkGradients(
            (x, y, c) => op.gemm(x, y, c, { transA, transB, alpha: 0.5, beta: 2 }),
            [{ shape: a }, { shape: b }, { shape: [5] }],
            { order },
          );
        });
      }
      it('Relu', async () => {
        await checkGradients((x) => op.mul(op.relu(x), x), [{ shape: [3, 5], sample: awayFromZero }], { order });
      });
      it('Tanh', async () => {
        await checkGradients((x) => op.tanh(x), [{ shape: [4, 3] }], { order });
      });
      it('Sigmoid', async () => {
        await checkGradients((x) => op.sigmoid(x), [{ shape: [4, 3] }], { order });
      });
      it('Exp, Log, Sqrt, Neg', async () => {
        await checkGradients((x) => op.exp(x), [{ shape: [5] }], { order });
        await checkGradients((x) => op.log(x), [{ shape: [5], sample: positive }], { order });
        await checkGradients((x) => op.sqrt(x), [{ shape: [5], sample: positive }], { order });
        await checkGradients((x) => op.neg(op.mul(x, x)), [{ shape: [5] }], { order });
      });
      it('Where selects branches', async () => {
        await checkGradients(
          (a, b) => op.where(op.greater(a, b), op.mul(a, a), op.mul(b, op.exp(a))),
          [{ shape: [3, 4], sample: awayFromZero }, { shape: [4], sample: awayFromZero }],
          { order },
        );
      });
      it('Reshape and Flatten', async () => {
        await checkGradients((x) => op.tanh(op.reshape(x, [3, 8])), [{ shape: [2, 3, 4] }], { order });
        await checkGradients((x) => op.tanh(op.flatten(x, 1)), [{ shape: [2, 3, 4] }], { order });
      });
      it('Transpose, Squeeze, Unsqueeze', async () => {
        await checkGradients((x) => op.tanh(op.transpose(x, [2, 0, 1])), [{ shape: [2, 3, 4] }], { order });
        await checkGradients((x) => op.tanh(op.unsqueeze(op.squeeze(x, [1]), [0])), [{ shape: [3, 1, 2] }], { order });
      });
      it('ReduceSum over axes, with and without keepdims, and over everything', async () => {
        await checkGradients((x) => op.tanh(op.reduceSum(x, [1], false)), [{ shape: [3, 4, 2] }], { order });
        await checkGradients((x) => op.tanh(op.reduceSum(x, [0, 2], true)), [{ shape: [3, 4, 2] }], { order });
        await checkGradients((x) => op.tanh(op.reduceSum(x)), [{ shape: [3, 4] }], { order });
      });
      it('ReduceSumSquare over axes and over everything', async () => {
        await checkGradients((x) => op.tanh(op.reduceSumSquare(x, [1], false)), [{ shape: [3, 4, 2] }], { order });
        await checkGradients((x) => op.tanh(op.reduceSumSquare(x)), [{ shape: [3, 4] }], { order });
      });
      it('ReduceMean over axes and over everything', async () => {
        await checkGradients((x) => op.tanh(op.reduceMean(x, [-1], false)), [{ shape: [3, 4] }], { order });
        await checkGradients((x) => op.tanh(op.reduceMean(x)), [{ shape: [3, 4] }], { order });
      });
      it('LogSoftmax and Softmax', async () => {
        await checkGradients((x) => op.logSoftmax(x, 1), [{ shape: [3, 5] }], { order });
        await checkGradients((x) => op.softmax(x, -1), [{ shape: [2, 3, 4] }], { order });
      });
    });
  }
});
