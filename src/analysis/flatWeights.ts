/**
 * A model's parameters as one flat float64 vector in parameter order (each
 * parameter row-major, the order hessian.ts's parameterLayout names), and
 * back: the coordinates PCA, Levenberg–Marquardt and the neighbour sampling
 * work in.
 */
import type { Model } from '../nn/model.ts';

/** Per-parameter arrays by name, any float type. */
export type Weights = ReadonlyMap<string, ArrayLike<number>>;

/** A flat vector in parameter order (the PCA's coordinates) cut into the model's parameters. */
export function splitByParameters(model: Model, flat: ArrayLike<number>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  let offset = 0;
  for (const p of model.parameters) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    out.set(p.name, Float64Array.from({ length: size }, (_, j) => flat[offset + j]!));
    offset += size;
  }
  return out;
}

/** The model's parameters end to end, in parameter order. */
export function flattenWeights(model: Model, weights: Weights, only?: string): Float64Array {
  const names = model.parameters.map((p) => p.name).filter((name) => only === undefined || name === only);
  const total = names.reduce((sum, name) => sum + weights.get(name)!.length, 0);
  const flat = new Float64Array(total);
  let offset = 0;
  for (const name of names) {
    const values = weights.get(name)!;
    for (let j = 0; j < values.length; j++) flat[offset + j] = values[j]!;
    offset += values.length;
  }
  return flat;
}
