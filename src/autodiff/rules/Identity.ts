import type { GradientRule } from '../rule.ts';

export const identityGradient: GradientRule = ({ outputGrads: [dy] }) => [dy];
