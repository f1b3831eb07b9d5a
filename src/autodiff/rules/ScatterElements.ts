import { intAttribute } from '../../ir/attributes.ts';
import { gatherElements, scatterElements, zerosLike } from '../../ir/ops.ts';
import type { GradientRule } from '../rule.ts';

/**
 * y = data with updates scattered at indices: d updates = GatherElements(dy, indices);
 * d data = dy with reduction 'add', and dy with the overwritten positions zeroed with 'none'.
 */
export const scatterElementsGradient: GradientRule = ({ node, inputs: [, indices, updates], outputGrads: [dy], needsGrad }) => {
  const axis = intAttribute(node, 'axis', 0);
  const reduction = node.attributes.reduction?.kind === 'string' ? node.attributes.reduction.value : 'none';
  if (reduction !== 'none' && reduction !== 'add') throw new Error(`${node.name}: ScatterElements gradient supports reduction none and add, not ${reduction}`);
  const dData = () => (reduction === 'add' ? dy! : scatterElements(dy!, indices!, zerosLike(updates!), { axis, name: 'dData' }));
  return [needsGrad(0) ? dData() : null, null, needsGrad(2) ? gatherElements(dy!, indices!, axis, { name: 'dUpdates' }) : null];
};
