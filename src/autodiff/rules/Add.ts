import type { GradientRule } from '../rule.ts';

/** d(a + b) = da + db: the output gradient flows unchanged to both sides. */
export const addGradient: GradientRule = ({ outputGrads: [dy] }) => [dy, dy];
