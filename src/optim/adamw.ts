import { withDefaults } from './defaults.ts';
import { adamFamily, type AdamConfig } from './adam.ts';
import type { Optimizer } from './optimizer.ts';

export type AdamWConfig = AdamConfig;

/** PyTorch's AdamW defaults: Adam's, except weight_decay 0.01. */
export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: false };

/**
 * torch.optim.AdamW (Loshchilov & Hutter, decoupled weight decay): first
 *   p = p (1 - lr wd),
 * then Adam's step on the plain gradient (no wd p added to it):
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
 * with v replaced by its running maximum under AMSGrad.
 */
export function adamw(overrides: Partial<AdamWConfig> = {}): Optimizer {
  return adamFamily('adamw', withDefaults(ADAMW_DEFAULTS, overrides), 'decoupled');
}
