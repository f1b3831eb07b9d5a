import type { Value } from '../ir/graph.ts';
import { add, div, max, mul, pow, scalarLike, sqrt, sub } from '../ir/ops.ts';
import { withDefaults } from './defaults.ts';
import { doubleScalars } from './stepScalars.ts';
import type { Optimizer } from './optimizer.ts';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
}

export const ADAM_DEFAULTS: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false };

/**
 * torch.optim.Adam (L2 weight decay added to the gradient):
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
 * with v replaced by its running maximum under AMSGrad.
 */
export function adam(overrides: Partial<AdamConfig> = {}): Optimizer {
  return adamFamily('adam', withDefaults(ADAM_DEFAULTS, overrides), 'l2');
}

/**
 * Adam and AdamW, which PyTorch also builds from one function (Adam's
 * `decoupled_weight_decay`): they differ only in where weight decay goes.
 * 'l2' adds wd p to the gradient; 'decoupled' first shrinks p by (1 - lr wd).
 */
export function adamFamily(name: string, config: AdamConfig, weightDecay: 'l2' | 'decoupled'): Optimizer {
  for (const [key, value] of [['beta1', config.beta1], ['beta2', config.beta2]] as const) {
    if (!(value >= 0 && value < 1)) throw new Error(`${name}: ${key} must be in [0, 1), got ${value}`);
  }
  return {
    name,
    config: { ...config },
    defaultLr: 1e-3,
    stateSlots: config.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'],
    update(slots, lr, step) {
      if (slots.length === 0) return [];
      const c = (value: number) => scalarLike(lr, value);
      // Bias corrections are shared by every parameter: computed once, in float64 (stepScalars.ts).
      const double = doubleScalars(lr, step);
      const d = double.constant;
      const biasCorrection1 = sub(d(1), pow(d(config.beta1), double.step), { name: 'bias_correction1' });
      const biasCorrection2Sqrt = sqrt(sub(d(1), pow(d(config.beta2), double.step)), { name: 'bias_correction2_sqrt' });
      // p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps), rearranged so each parameter needs one
      // elementwise pass fewer: p -= (lr·sqrt(bc2)/bc1) · m / (sqrt(v) + eps·sqrt(bc2)).
      const stepSize = double.toParameters(div(mul(double.lr, biasCorrection2Sqrt), biasCorrection1), 'step_size');
      const epsilon = double.toParameters(mul(d(config.eps), biasCorrection2Sqrt), 'epsilon');
      const decay =
        config.weight_decay !== 0 && weightDecay === 'decoupled'
          ? double.toParameters(sub(d(1), mul(double.lr, d(config.weight_decay))), 'decay_factor')
          : undefined;
      return slots.map(({ param: current, grad, state }) => {
        const param = decay ? mul(current, decay, { name: 'decayed_param' }) : current;
        const g: Value = config.weight_decay && weightDecay === 'l2' ? add(grad, mul(c(config.weight_decay), param), { name: 'decayed_grad' }) : grad;
        // PyTorch's exp_avg.lerp_(grad, 1 - beta1): m + (1 - b1)(g - m).
        const previous = state.get('exp_avg')!;
        const expAvg = add(previous, mul(c(1 - config.beta1), sub(g, previous)), { name: 'exp_avg' });
        const expAvgSq = add(mul(c(config.beta2), state.get('exp_avg_sq')!), mul(c(1 - config.beta2), mul(g, g)), { name: 'exp_avg_sq' });
        const next = new Map<string, Value>([['exp_avg', expAvg], ['exp_avg_sq', expAvgSq]]);
        let second = expAvgSq;
        if (config.amsgrad) {
          second = max(state.get('max_exp_avg_sq')!, expAvgSq, { name: 'max_exp_avg_sq' });
          next.set('max_exp_avg_sq', second);
        }
        const denominator = add(sqrt(second), epsilon, { name: 'denominator' });
        return { param: sub(param, mul(stepSize, div(expAvg, denominator)), { name: 'param' }), state: next };
      });
    },
  };
}
