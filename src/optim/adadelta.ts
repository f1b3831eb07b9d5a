import type { Value } from '../ir/graph.ts';
import { add, div, mul, scalarLike, sqrt, sub } from '../ir/ops.ts';
import { withDefaults } from './defaults.ts';
import type { Optimizer } from './optimizer.ts';

export interface AdadeltaConfig {
  rho: number;
  eps: number;
  weight_decay: number;
}

export const ADADELTA_DEFAULTS: AdadeltaConfig = { rho: 0.9, eps: 1e-6, weight_decay: 0 };

/**
 * torch.optim.Adadelta (Zeiler, 2012): g = grad + wd p,
 *   square_avg = rho square_avg + (1 - rho) g^2,
 *   delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g,
 *   acc_delta = rho acc_delta + (1 - rho) delta^2,
 *   p = p - lr delta.
 */
export function adadelta(overrides: Partial<AdadeltaConfig> = {}): Optimizer {
  const config = withDefaults(ADADELTA_DEFAULTS, overrides);
  if (!(config.rho >= 0 && config.rho <= 1)) throw new Error(`Adadelta: rho must be in [0, 1], got ${config.rho}`);
  for (const key of ['eps', 'weight_decay'] as const) {
    if (!(config[key] >= 0)) throw new Error(`Adadelta: ${key} must be at least 0, got ${config[key]}`);
  }
  return {
    name: 'adadelta',
    config: { ...config },
    defaultLr: 1.0,
    stateSlots: ['square_avg', 'acc_delta'],
    update(slots, lr) {
      return slots.map(({ param, grad, state }) => {
        const c = (value: number) => scalarLike(param, value);
        const g: Value = config.weight_decay ? add(grad, mul(c(config.weight_decay), param), { name: 'decayed_grad' }) : grad;
        const squareAvg = add(mul(c(config.rho), state.get('square_avg')!), mul(c(1 - config.rho), mul(g, g)), { name: 'square_avg' });
        const std = sqrt(add(squareAvg, c(config.eps)), { name: 'std' });
        const delta = mul(div(sqrt(add(state.get('acc_delta')!, c(config.eps))), std), g, { name: 'delta' });
        const accDelta = add(mul(c(config.rho), state.get('acc_delta')!), mul(c(1 - config.rho), mul(delta, delta)), { name: 'acc_delta' });
        return {
          param: sub(param, mul(lr, delta), { name: 'param' }),
          state: new Map([['square_avg', squareAvg], ['acc_delta', accDelta]]),
        };
      });
    },
  };
}
