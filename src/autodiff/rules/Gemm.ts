import { floatAttribute, intAttribute } from '../../ir/attributes.ts';
import { gemm, mul, scalarLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * Y = alpha A'B' + beta C with A' = op(A), B' = op(B). dA' = alpha dY B'^T and
 * dB' = alpha A'^T dY; each case below is one Gemm with the transpose flags
 * folded in, so the backward graph has no Transpose nodes.
 */
export const gemmGradient: GradientRule = ({ node, inputs: [a, b, c], outputGrads: [dy], needsGrad }) => {
  const transA = intAttribute(node, 'transA', 0) === 1;
  const transB = intAttribute(node, 'transB', 0) === 1;
  const alpha = floatAttribute(node, 'alpha', 1);
  const beta = floatAttribute(node, 'beta', 1);
  const dA = !needsGrad(0)
    ? null
    : transA
      ? gemm(b!, dy!, null, { transA: transB, transB: true, alpha, name: 'dA' })
      : gemm(dy!, b!, null, { transB: !transB, alpha, name: 'dA' });
  const dB = !needsGrad(1)
    ? null
    : transB
      ? gemm(dy!, a!, null, { transA: true, transB: transA, alpha, name: 'dB' })
      : gemm(a!, dy!, null, { transA: !transA, alpha, name: 'dB' });
  const dC = c && needsGrad(2) ? (beta === 1 ? dy : mul(dy!, scalarLike(dy!, beta), { name: 'dC' })) : null;
  return [dA, dB, dC];
};
