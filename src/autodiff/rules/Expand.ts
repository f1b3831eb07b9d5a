import type { GradientRule } from '../rule.ts';

/** Expand is broadcasting: the engine's reduction to the input's shape is the whole gradient. */
export const expandGradient: GradientRule = ({ outputGrads: [dy] }) => [dy, null];
