import { floatArray, type FloatArray } from '../ir/dtype.ts';
import { Random } from '../util/random.ts';
import type { Model } from './model.ts';

export type ParameterValues = Map<string, FloatArray>;

/**
 * PyTorch's default initialization (uniform in +-1/sqrt(fan_in) for weights
 * and biases), drawn from one seeded stream in parameter order, so a seed
 * names one starting point exactly. Parameters with given values (an
 * imported model's initializers) take them, whatever the seed, and draw
 * nothing from the stream.
 */
export function initializeParameters(model: Model, seed: number, dtype: 'float32' | 'float64' = 'float32'): ParameterValues {
  const random = new Random(seed);
  const values: ParameterValues = new Map();
  for (const parameter of model.parameters) {
    const size = parameter.shape.reduce((a, b) => a * b, 1);
    const data = floatArray(dtype, size);
    const init = parameter.init;
    if (init.kind === 'values') data.set(init.values);
    else for (let i = 0; i < size; i++) data[i] = random.uniform(-init.bound, init.bound);
    values.set(parameter.name, data);
  }
  return values;
}
