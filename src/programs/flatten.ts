/**
 * Tensors of several shapes as one flat vector and back: the parameter
 * vectors of the Hessian programs, and the small parameters an optimizer
 * updates together. One Concat and one Split, with Reshapes only for tensors
 * that are not already 1-D.
 */
import type { Value } from '../ir/graph.ts';
import { concat, reshape, split } from '../ir/ops.ts';
import { staticSize } from '../ir/shape.ts';

export function concatFlat(values: readonly Value[], name: string): Value {
  return concat(
    values.map((value) => (value.rank === 1 ? value : reshape(value, [-1]))),
    0,
    { name },
  );
}

/** concatFlat's inverse: `flat` cut into tensors of the given static shapes. */
export function splitFlat(flat: Value, shapes: ReadonlyArray<readonly number[]>, name: string): Value[] {
  const sizes = shapes.map((shape) => staticSize([...shape])!);
  return split(flat, sizes, 0, { name }).map((piece, i) => (shapes[i]!.length === 1 ? piece : reshape(piece, [...shapes[i]!])));
}
