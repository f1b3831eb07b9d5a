import type { Value } from '../../ir/graph.ts';
import { slice } from '../../ir/ops.ts';

/** Keeps the first `size` rows and columns of an [N, C, H, W] value. */
export function cropEnd(x: Value, size: [number, number]): Value {
  return slice(x, [0, 0], size, [2, 3], { name: 'crop' });
}
