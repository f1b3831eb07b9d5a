import { scalarLike, where } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * The gradient goes to the branch that was selected; the condition has none.
 * dy has the output's shape, which the condition broadcasts to, so a scalar
 * zero suffices (no ConstantOfShape per use).
 */
export const whereGradient: GradientRule = ({ inputs: [condition], outputGrads: [dy], needsGrad }) => {
  const zero = needsGrad(1) || needsGrad(2) ? scalarLike(dy!, 0) : null;
  return [
    null,
    needsGrad(1) ? where(condition!, dy!, zero!, { name: 'dTrue' }) : null,
    needsGrad(2) ? where(condition!, zero!, dy!, { name: 'dFalse' }) : null,
  ];
};
