import { gemm, matmul, transpose } from '../../ir/ops.ts';
import type { Value } from '../../ir/graph.ts';
import type { GradientRule } from '../rule.ts';

/**
 * Y = A B: dA = dY B^T, dB = A^T dY. Plain matrices use Gemm's transpose flags
 * (no Transpose node); batched operands transpose their last two axes, and
 * the engine sums broadcast batch dimensions away.
 */
export const matMulGradient: GradientRule = ({ inputs: [a, b], outputGrads: [dy], needsGrad }) => {
  if (a!.rank === 2 && b!.rank === 2) {
    return [
      needsGrad(0) ? gemm(dy!, b!, null, { transB: true, name: 'dA' }) : null,
      needsGrad(1) ? gemm(a!, dy!, null, { transA: true, name: 'dB' }) : null,
    ];
  }
  return [
    needsGrad(0) ? matmul(dy!, swapLastAxes(b!), { name: 'dA' }) : null,
    needsGrad(1) ? matmul(swapLastAxes(a!), dy!, { name: 'dB' }) : null,
  ];
};

function swapLastAxes(x: Value): Value {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return transpose(x, perm);
}
