import type { Value } from '../ir/graph.ts';
import { cast } from '../ir/ops.ts';

/**
 * The per-step scalars of an update (Adam's bias corrections and step size,
 * AdamW's decay factor, Adagrad's decayed rate) computed in float64 and cast
 * once to the parameters' dtype, as PyTorch computes them in Python floats
 * (double) before a single float32 multiply. In float32, 1 - 0.999^1 alone is
 * off by 1.3e-5 relative, which made every float32 Adam step about 7 ppm short.
 */
export interface DoubleScalars {
  /** The 1-based step count as a float64 scalar. */
  readonly step: Value;
  /** The learning rate as a float64 scalar. */
  readonly lr: Value;
  constant(value: number): Value;
  /** A float64 scalar cast to the parameters' dtype (unchanged in float64 graphs). */
  toParameters(value: Value, name: string): Value;
}

/** `lr` is the parameters' dtype; `step` the int64 step count. */
export function doubleScalars(lr: Value, step: Value): DoubleScalars {
  const graph = lr.graph;
  const dtype = lr.dtype;
  return {
    step: cast(step, 'float64', { name: 'step_double' }),
    lr: dtype === 'float64' ? lr : cast(lr, 'float64', { name: 'lr_double' }),
    constant: (value) => graph.constant('float64', [], [value]),
    toParameters: (value, name) => (dtype === 'float64' ? value : cast(value, dtype, { name })),
  };
}
