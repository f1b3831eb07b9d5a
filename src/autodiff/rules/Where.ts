import { where, zerosLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** The gradient goes to the branch that was selected; the condition has none. */
export const whereGradient: GradientRule = ({ inputs: [condition], outputGrads: [dy], needsGrad }) => {
  const zero = needsGrad(1) || needsGrad(2) ? zerosLike(dy!) : null;
  return [
    null,
    needsGrad(1) ? where(condition!, dy!, zero!, { name: 'dTrue' }) : null,
    needsGrad(2) ? where(condition!, zero!, dy!, { name: 'dFalse' }) : null,
  ];
};
