/**
 * The loss at N points center + δ_n of weight space in one call
 * (neighbours.onnx): δ comes as an [N, P] matrix of flat offsets in
 * parameter order, and an ONNX Loop runs the forward pass and the summed loss
 * for each. The sampled definition of the minimal ratio (the share of random
 * neighbours with a higher loss) evaluates thousands of such points.
 */
import { hoistedLoop } from '../ir/hoistedLoop.ts';
import type { Graph } from '../ir/graph.ts';
import { add, gather, shape } from '../ir/ops.ts';
import type { Model } from '../nn/model.ts';
import { splitFlat } from './flatten.ts';
import { addTarget, lossOf, modelGraph, type FloatType } from './modelInputs.ts';

export function neighboursGraph(model: Model, dtype: FloatType = 'float64'): Graph {
  const size = model.parameterCount;
  const { graph, x, parameters } = modelGraph(
    model,
    'neighbours',
    `${model.name}: summed loss at N points center + delta_n, one Loop iteration per point`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const deltas = graph.addInput('deltas', dtype, ['N_points', size], `offsets from the center, [N, ${size}] in parameter order`);
  const count = graph.withScope('points', () => gather(shape(deltas), graph.constant('int64', [], [0]), 0, { name: 'count' }));
  const { scans } = hoistedLoop(
    count,
    [],
    'N_points',
    (i) => {
      const offsets = splitFlat(gather(deltas, i, 0, { name: 'delta' }), model.parameters.map((p) => p.shape), 'offset');
      const moved = new Map([...parameters].map(([name, center], k) => [name, add(center, offsets[k]!, { name: `moved.${name}` })]));
      const y = graph.withScope('forward', () => model.forward(x, moved));
      return { next: [], scans: [lossOf(model, y, target, 'sum')] };
    },
    { name: 'points', doc: 'one neighbour: the moved weights, the forward pass, the summed loss' },
  );
  graph.addOutput('loss_sum', scans[0]!, 'loss summed over the batch at each point, [N]');
  return graph;
}
