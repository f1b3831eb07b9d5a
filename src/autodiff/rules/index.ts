import type { GradientRule } from '../rule.ts';
import { absGradient } from './Abs.ts';
import { addGradient } from './Add.ts';
import { averagePoolGradient } from './AveragePool.ts';
import { castGradient } from './Cast.ts';
import { col2imGradient } from './Col2Im.ts';
import { concatGradient } from './Concat.ts';
import { splitGradient } from './Split.ts';
import { convGradient } from './Conv.ts';
import { convTransposeGradient } from './ConvTranspose.ts';
import { cosGradient } from './Cos.ts';
import { divGradient } from './Div.ts';
import { dropoutGradient } from './Dropout.ts';
import { expandGradient } from './Expand.ts';
import { expGradient } from './Exp.ts';
import { gatherGradient } from './Gather.ts';
import { gatherElementsGradient } from './GatherElements.ts';
import { gemmGradient } from './Gemm.ts';
import { identityGradient } from './Identity.ts';
import { logGradient } from './Log.ts';
import { logSoftmaxGradient } from './LogSoftmax.ts';
import { matMulGradient } from './MatMul.ts';
import { maxPoolGradient } from './MaxPool.ts';
import { maxUnpoolGradient } from './MaxUnpool.ts';
import { mulGradient } from './Mul.ts';
import { negGradient } from './Neg.ts';
import { padGradient } from './Pad.ts';
import { powGradient } from './Pow.ts';
import { reduceMeanGradient } from './ReduceMean.ts';
import { reduceSumGradient } from './ReduceSum.ts';
import { reduceSumSquareGradient } from './ReduceSumSquare.ts';
import { reluGradient } from './Relu.ts';
import { reshapeGradient } from './Reshape.ts';
import { scatterElementsGradient } from './ScatterElements.ts';
import { sigmoidGradient } from './Sigmoid.ts';
import { sinGradient } from './Sin.ts';
import { sliceGradient } from './Slice.ts';
import { softmaxGradient } from './Softmax.ts';
import { sqrtGradient } from './Sqrt.ts';
import { subGradient } from './Sub.ts';
import { tanhGradient } from './Tanh.ts';
import { transposeGradient } from './Transpose.ts';
import { whereGradient } from './Where.ts';

/** Op type -> gradient rule. Every rule is written with ops that are in this table too. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Abs: absGradient,
  Add: addGradient,
  AveragePool: averagePoolGradient,
  Cast: castGradient,
  Col2Im: col2imGradient,
  Concat: concatGradient,
  Conv: convGradient,
  ConvTranspose: convTransposeGradient,
  Cos: cosGradient,
  Div: divGradient,
  Dropout: dropoutGradient,
  Exp: expGradient,
  Expand: expandGradient,
  Flatten: reshapeGradient,
  Gather: gatherGradient,
  GatherElements: gatherElementsGradient,
  Gemm: gemmGradient,
  Identity: identityGradient,
  Log: logGradient,
  LogSoftmax: logSoftmaxGradient,
  MatMul: matMulGradient,
  MaxPool: maxPoolGradient,
  MaxUnpool: maxUnpoolGradient,
  Mul: mulGradient,
  Neg: negGradient,
  Pad: padGradient,
  Pow: powGradient,
  ReduceMean: reduceMeanGradient,
  ReduceSum: reduceSumGradient,
  ReduceSumSquare: reduceSumSquareGradient,
  Relu: reluGradient,
  Reshape: reshapeGradient,
  ScatterElements: scatterElementsGradient,
  Sigmoid: sigmoidGradient,
  Sin: sinGradient,
  Slice: sliceGradient,
  Split: splitGradient,
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
  'And',
  'ArgMax',
  'ConstantOfShape',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'IsNaN',
  'Less',
  'LessOrEqual',
  'Not',
  'Or',
  'Range',
  'Shape',
  'Sign',
  'Size',
]);
