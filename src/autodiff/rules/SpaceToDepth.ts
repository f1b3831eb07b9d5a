import { intAttribute } from '../../ir/attributes.ts';
import { depthToSpace, spaceToDepth } from '../../ir/spatialOps.ts';
import type { GradientRule } from '../rule.ts';

/** A permutation of elements: the gradient is the inverse permutation of dY. */
export const spaceToDepthGradient: GradientRule = ({ node, outputGrads: [dy] }) => [depthToSpace(dy!, intAttribute(node, 'blocksize', 0), { name: 'dX' })];

export const depthToSpaceGradient: GradientRule = ({ node, outputGrads: [dy] }) => {
  const mode = node.attributes.mode?.kind === 'string' ? node.attributes.mode.value : 'DCR';
  if (mode !== 'DCR') throw new Error(`${node.name}: the gradient of DepthToSpace in ${mode} mode is not supported (DCR only)`);
  return [spaceToDepth(dy!, intAttribute(node, 'blocksize', 0), { name: 'dX' })];
};
