import type { Value } from '../ir/graph.ts';
import { add, div, mul, scalarLike, sqrt, sub } from '../ir/ops.ts';
import { withDefaults } from './defaults.ts';
import { doubleScalars } from './stepScalars.ts';
import type { Optimizer } from './optimizer.ts';

export interface AdagradConfig {
  lr_decay: number;
  weight_decay: number;
  initial_accumulator_value: number;
  eps: number;
}

export const ADAGRAD_DEFAULTS: AdagradConfig = { lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10 };

/**
 * torch.optim.Adagrad (Duchi et al., 2011): g = grad + wd p,
 *   clr = lr / (1 + (t - 1) lr_decay),  sum = sum + g^2,
 *   p = p - clr g / (sqrt(sum) + eps),
 * where sum starts at initial_accumulator_value, not at zero.
 */
export function adagrad(overrides: Partial<AdagradConfig> = {}): Optimizer {
  const config = withDefaults(ADAGRAD_DEFAULTS, overrides);
  for (const key of ['lr_decay', 'weight_decay', 'initial_accumulator_value', 'eps'] as const) {
    if (!(config[key] >= 0)) throw new Error(`Adagrad: ${key} must be at least 0, got ${config[key]}`);
  }
  return {
    name: 'adagrad',
    config: { ...config },
    defaultLr: 1e-2,
    stateSlots: ['sum'],
    initialState: { sum: config.initial_accumulator_value },
    update(slots, lr, step) {
      if (slots.length === 0) return [];
      const c = (value: number) => scalarLike(lr, value);
      // The decayed learning rate is shared by every parameter: computed once, in float64 (stepScalars.ts).
      const double = doubleScalars(lr, step);
      const d = double.constant;
      const clr = config.lr_decay ? double.toParameters(div(double.lr, add(d(1), mul(sub(double.step, d(1)), d(config.lr_decay)))), 'clr') : lr;
      return slots.map(({ param, grad, state }) => {
        const g: Value = config.weight_decay ? add(grad, mul(c(config.weight_decay), param), { name: 'decayed_grad' }) : grad;
        const sum = add(state.get('sum')!, mul(g, g), { name: 'sum' });
        const std = add(sqrt(sum), c(config.eps), { name: 'std' });
        return { param: sub(param, mul(clr, div(g, std)), { name: 'param' }), state: new Map([['sum', sum]]) };
      });
    },
  };
}
