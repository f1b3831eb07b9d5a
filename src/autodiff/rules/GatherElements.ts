import { intAttribute } from '../../ir/attributes.ts';
import { scatterElements, zerosLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/** y = data gathered elementwise at indices: d data = ScatterElements(0, indices, dy, add); repeats accumulate. */
export const gatherElementsGradient: GradientRule = ({ node, inputs: [data, indices], outputGrads: [dy] }) => [
  scatterElements(zerosLike(data!), indices!, dy!, { axis: intAttribute(node, 'axis', 0), reduction: 'add', name: 'dData' }),
  null,
];
