import { constantNumbers } from '../../ir/attributes.ts';
import { cast, mul, scalarLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = x · mask / (1 - ratio): the same mask (the forward node's output) scales the gradient. */
export const dropoutGradient: GradientRule = ({ node, inputs: [, ratioInput], outputs: [, mask], outputGrads: [dy] }) => {
  // ONNX's default ratio is 0.5 when the input is omitted; a computed ratio cannot be read here.
  const ratio = ratioInput ? constantNumbers(ratioInput)?.[0] : 0.5;
  if (ratio === undefined) throw new Error(`${node.name}: Dropout's gradient needs a constant ratio`);
  if (!mask) throw new Error(`${node.name}: Dropout's gradient needs its mask output`);
  // onnxruntime scales by 1 / (1 - ratio) with the ratio read as float32, also in
  // float64 graphs; using the same number keeps forward and backward consistent.
  const scale = 1 / (1 - Math.fround(ratio));
  return [mul(dy!, mul(cast(mask, dy!.dtype), scalarLike(dy!, scale)), { name: 'dX' })];
};
