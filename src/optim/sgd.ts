import type { Value } from '../ir/graph.ts';
import { add, equal, mul, scalarLike, sub, where } from '../ir/ops.ts';
import { withDefaults } from './defaults.ts';
import type { Optimizer, ParameterSlot } from './optimizer.ts';

export interface SgdConfig {
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
}

export const SGD_DEFAULTS: SgdConfig = { momentum: 0, dampening: 0, weight_decay: 0, nesterov: false };

/**
 * torch.optim.SGD: g = grad + wd p; with momentum, buf = g at the first step
 * and buf = momentum buf + (1 - dampening) g after it; g = buf, or
 * g + momentum buf with Nesterov; p = p - lr g.
 */
export function sgd(overrides: Partial<SgdConfig> = {}): Optimizer {
  const config = withDefaults(SGD_DEFAULTS, overrides);
  if (config.nesterov && (config.momentum <= 0 || config.dampening !== 0)) {
    throw new Error('SGD: Nesterov momentum requires a momentum > 0 and zero dampening (as in PyTorch)');
  }
  const usesMomentum = config.momentum !== 0;
  return {
    name: 'sgd',
    config: { ...config },
    // PyTorch before 2.2 had no default lr for SGD; 2.2 chose 1e-3 (pytorch/pytorch#114467), as we do.
    defaultLr: 1e-3,
    stateSlots: usesMomentum ? ['momentum_buffer'] : [],
    update(slots, lr, step) {
      return slots.map(({ param, grad, state }: ParameterSlot) => {
        const c = (value: number) => scalarLike(param, value);
        let g: Value = config.weight_decay ? add(grad, mul(c(config.weight_decay), param), { name: 'decayed_grad' }) : grad;
        const next = new Map<string, Value>();
        if (usesMomentum) {
          const previous = state.get('momentum_buffer')!;
          const accumulated = add(mul(c(config.momentum), previous), mul(c(1 - config.dampening), g));
          const buffer = where(equal(step, scalarLike(step, 1)), g, accumulated, { name: 'momentum_buffer' });
          next.set('momentum_buffer', buffer);
          g = config.nesterov ? add(g, mul(c(config.momentum), buffer)) : buffer;
        }
        return { param: sub(param, mul(lr, g), { name: 'param' }), state: next };
      });
    },
  };
}
