import { floatArray, type FloatArray } from '../ir/dtype.ts';
import { Random } from '../util/random.ts';
import type { Model } from './model.ts';

export type ParameterValues = Map<string, FloatArray>;

/**
 * PyTorch's default initialization (uniform in +-1/sqrt(fan_in) for weights
 * and biases), drawn from one seeded stream in parameter order, so a seed
 * names one starting point exactly.
 */
export function initializeParameters(model: Model, seed: number, dtype: 'float32' | 'float64' = 'float32'): ParameterValues {
  const random = new Random(seed);
  const values: ParameterValues = new Map();
  for (const parameter of model.parameters) {
    const size = parameter.shape.reduce((a, b) => a * b, 1);
    const data = floatArray(dtype, size);
    const { bound } = parameter.init;
    for (let i = 0; i < size; i++) data[i] = random.uniform(-bound, bound);
    values.set(parameter.name, data);
  }
  return values;
}
