import type { GradientRule } from '../rule.ts';
import { addGradient } from './Add.ts';
import { castGradient } from './Cast.ts';
import { divGradient } from './Div.ts';
import { expandGradient } from './Expand.ts';
import { expGradient } from './Exp.ts';
import { gemmGradient } from './Gemm.ts';
import { identityGradient } from './Identity.ts';
import { logGradient } from './Log.ts';
import { logSoftmaxGradient } from './LogSoftmax.ts';
import { matMulGradient } from './MatMul.ts';
import { mulGradient } from './Mul.ts';
import { negGradient } from './Neg.ts';
import { powGradient } from './Pow.ts';
import { reduceMeanGradient } from './ReduceMean.ts';
import { reduceSumGradient } from './ReduceSum.ts';
import { reluGradient } from './Relu.ts';
import { reshapeGradient } from './Reshape.ts';
import { sigmoidGradient } from './Sigmoid.ts';
import { softmaxGradient } from './Softmax.ts';
import { sqrtGradient } from './Sqrt.ts';
import { subGradient } from './Sub.ts';
import { tanhGradient } from './Tanh.ts';
import { transposeGradient } from './Transpose.ts';
import { whereGradient } from './Where.ts';

/** Op type -> gradient rule. Every rule is written with ops that are in this table too. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Add: addGradient,
  Cast: castGradient,
  Div: divGradient,
  Exp: expGradient,
  Expand: expandGradient,
  Flatten: reshapeGradient,
  Gemm: gemmGradient,
  Identity: identityGradient,
  Log: logGradient,
  LogSoftmax: logSoftmaxGradient,
  MatMul: matMulGradient,
  Mul: mulGradient,
  Neg: negGradient,
  Pow: powGradient,
  ReduceMean: reduceMeanGradient,
  ReduceSum: reduceSumGradient,
  Relu: reluGradient,
  Reshape: reshapeGradient,
  Sigmoid: sigmoidGradient,
  Softmax: softmaxGradient,
  Sqrt: sqrtGradient,
  Squeeze: reshapeGradient,
  Sub: subGradient,
  Tanh: tanhGradient,
  Transpose: transposeGradient,
  Unsqueeze: reshapeGradient,
  Where: whereGradient,
};

/**
 * Ops whose outputs carry no gradient: integer or boolean results (shapes,
 * comparisons, indices) and constants. Declared, not forgotten (as JAX does),
 * so a missing rule is an error rather than a silent zero.
 */
export const nonDifferentiableOps: ReadonlySet<string> = new Set([
  'ArgMax',
  'ConstantOfShape',
  'Equal',
  'Greater',
  'IsNaN',
  'Less',
  'Shape',
  'Size',
]);
