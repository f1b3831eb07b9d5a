import { UserError } from '../util/errors.ts';
import { ADAM_DEFAULTS, adam } from './adam.ts';
import type { Optimizer } from './optimizer.ts';
import { SGD_DEFAULTS, sgd } from './sgd.ts';

export const OPTIMIZER_NAMES = ['sgd', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Builds an optimizer by name; options not given keep PyTorch's defaults. */
export function optimizerByName(name: string, options: Record<string, number | boolean | undefined> = {}): Optimizer {
  const defaults: Record<OptimizerName, Record<string, unknown>> = { sgd: SGD_DEFAULTS as never, adam: ADAM_DEFAULTS as never };
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown optimizer "${name}" (choose one of: ${OPTIMIZER_NAMES.join(', ')})`);
  }
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  // An option the optimizer does not have would be silently ignored: refuse it instead.
  for (const key of Object.keys(given)) {
    if (!(key in defaults[name as OptimizerName])) {
      throw new UserError(`${key} does not apply to ${name} (its options: ${Object.keys(defaults[name as OptimizerName]).join(', ')})`);
    }
  }
  return name === 'sgd' ? sgd(given) : adam(given);
}

export type { Optimizer };
