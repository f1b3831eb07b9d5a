import { UserError } from '../util/errors.ts';
import { ADADELTA_DEFAULTS, adadelta } from './adadelta.ts';
import { ADAGRAD_DEFAULTS, adagrad } from './adagrad.ts';
import { ADAM_DEFAULTS, adam } from './adam.ts';
import { ADAMW_DEFAULTS, adamw } from './adamw.ts';
import type { Optimizer } from './optimizer.ts';
import { RMSPROP_DEFAULTS, rmsprop } from './rmsprop.ts';
import { SGD_DEFAULTS, sgd } from './sgd.ts';

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

type Options = Record<string, number | boolean>;

/** Each optimizer's defaults (which name its options) and its constructor. */
const OPTIMIZERS: Record<OptimizerName, { defaults: object; create: (options: Options) => Optimizer }> = {
  sgd: { defaults: SGD_DEFAULTS, create: sgd },
  adam: { defaults: ADAM_DEFAULTS, create: adam },
  adamw: { defaults: ADAMW_DEFAULTS, create: adamw },
  rmsprop: { defaults: RMSPROP_DEFAULTS, create: rmsprop },
  adagrad: { defaults: ADAGRAD_DEFAULTS, create: adagrad },
  adadelta: { defaults: ADADELTA_DEFAULTS, create: adadelta },
};

/** Builds an optimizer by name; options not given keep PyTorch's defaults. */
export function optimizerByName(name: string, options: Record<string, number | boolean | undefined> = {}): Optimizer {
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown optimizer "${name}" (choose one of: ${OPTIMIZER_NAMES.join(', ')})`);
  }
  const { defaults, create } = OPTIMIZERS[name as OptimizerName];
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Options;
  // An option the optimizer does not have would be silently ignored: refuse it instead.
  for (const key of Object.keys(given)) {
    if (!(key in defaults)) {
      throw new UserError(`${key} does not apply to ${name} (its options: ${Object.keys(defaults).join(', ')})`);
    }
  }
  return create(given);
}

export type { Optimizer };
