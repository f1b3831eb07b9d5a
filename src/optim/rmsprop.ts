import type { Value } from '../ir/graph.ts';
import { add, div, mul, scalarLike, sqrt, sub } from '../ir/ops.ts';
import { withDefaults } from './defaults.ts';
import type { Optimizer } from './optimizer.ts';

export interface RmspropConfig {
  alpha: number;
  eps: number;
  weight_decay: number;
  momentum: number;
  centered: boolean;
}

export const RMSPROP_DEFAULTS: RmspropConfig = { alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, centered: false };

/**
 * torch.optim.RMSprop (Hinton's lecture 6e; centered as in Graves, 2013):
 * g = grad + wd p,  square_avg = alpha square_avg + (1 - alpha) g^2;
 * centered: grad_avg = alpha grad_avg + (1 - alpha) g and
 * avg = sqrt(square_avg - grad_avg^2) + eps, else avg = sqrt(square_avg) + eps;
 * with momentum: buf = momentum buf + g / avg, p = p - lr buf;
 * without: p = p - lr g / avg.
 */
export function rmsprop(overrides: Partial<RmspropConfig> = {}): Optimizer {
  const config = withDefaults(RMSPROP_DEFAULTS, overrides);
  for (const key of ['alpha', 'eps', 'weight_decay', 'momentum'] as const) {
    if (!(config[key] >= 0)) throw new Error(`RMSprop: ${key} must be at least 0, got ${config[key]}`);
  }
  const usesMomentum = config.momentum > 0;
  return {
    name: 'rmsprop',
    config: { ...config },
    defaultLr: 1e-2,
    stateSlots: ['square_avg', ...(usesMomentum ? ['momentum_buffer'] : []), ...(config.centered ? ['grad_avg'] : [])],
    update(slots, lr) {
      return slots.map(({ param, grad, state }) => {
        const c = (value: number) => scalarLike(param, value);
        const g: Value = config.weight_decay ? add(grad, mul(c(config.weight_decay), param), { name: 'decayed_grad' }) : grad;
        const squareAvg = add(mul(c(config.alpha), state.get('square_avg')!), mul(c(1 - config.alpha), mul(g, g)), { name: 'square_avg' });
        const next = new Map<string, Value>([['square_avg', squareAvg]]);
        let variance = squareAvg;
        if (config.centered) {
          const gradAvg = add(mul(c(config.alpha), state.get('grad_avg')!), mul(c(1 - config.alpha), g), { name: 'grad_avg' });
          next.set('grad_avg', gradAvg);
          variance = sub(squareAvg, mul(gradAvg, gradAvg), { name: 'centered_square_avg' });
        }
        const avg = add(sqrt(variance), c(config.eps), { name: 'avg' });
        if (!usesMomentum) return { param: sub(param, mul(lr, div(g, avg)), { name: 'param' }), state: next };
        const buffer = add(mul(c(config.momentum), state.get('momentum_buffer')!), div(g, avg), { name: 'momentum_buffer' });
        next.set('momentum_buffer', buffer);
        return { param: sub(param, mul(lr, buffer), { name: 'param' }), state: next };
      });
    },
  };
}
