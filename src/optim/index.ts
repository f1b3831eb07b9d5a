import { UserError } from '../util/errors.ts';
import { adam } from './adam.ts';
import type { Optimizer } from './optimizer.ts';
import { sgd } from './sgd.ts';

export const OPTIMIZER_NAMES = ['sgd', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** Builds an optimizer by name; options not given keep PyTorch's defaults. */
export function optimizerByName(name: string, options: Record<string, number | boolean> = {}): Optimizer {
  switch (name) {
    case 'sgd':
      return sgd(options);
    case 'adam':
      return adam(options);
    default:
      throw new UserError(`unknown optimizer "${name}" (choose one of: ${OPTIMIZER_NAMES.join(', ')})`);
  }
}

export type { Optimizer };
