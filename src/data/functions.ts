/** The 1-D target functions of the "simulate a function" experiment, sampled as regression data sets. */
import { UserError } from '../util/errors.ts';
import type { Dataset } from './dataset.ts';

export const TARGET_FUNCTIONS: Readonly<Record<string, { formula: string; f: (x: number) => number }>> = {
  sinc: { formula: 'sin(5πx)/(5πx)', f: (x) => Math.sin(5 * Math.PI * x) / (5 * Math.PI * x) },
  sign: { formula: 'sgn(sin(5πx))', f: (x) => Math.sign(Math.sin(5 * Math.PI * x)) },
};

/** `count` evenly spaced points on (0, 1] (x = i / count, i = 1..count). */
export function sampleFunction(name: string, count: number, label = name): Dataset {
  const target = TARGET_FUNCTIONS[name];
  if (!target) throw new UserError(`unknown function "${name}" (known: ${Object.keys(TARGET_FUNCTIONS).join(', ')})`);
  const inputs = new Float32Array(count);
  const targets = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const x = (i + 1) / count;
    inputs[i] = x;
    targets[i] = target.f(x);
  }
  return { name: label, count, inputShape: [1], inputs, targets, targetWidth: 1 };
}
