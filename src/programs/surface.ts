/**
 * The loss at many points of a plane in weight space in one call
 * (surface.onnx): θ(α, β) = center + α d1 + β d2 for each (α_m, β_m), an ONNX
 * Loop over the M points, each running the forward pass and the summed loss
 * on the whole batch. Loss landscapes (Li et al. 2018), lines between two
 * models and trajectory planes are all such points, so none needs a graph
 * per point.
 */
import { hoistedLoop } from '../ir/hoistedLoop.ts';
import type { Graph, Value } from '../ir/graph.ts';
import { add, gather, mul, shape } from '../ir/ops.ts';
import type { Model } from '../nn/model.ts';
import { addTarget, lossOf, modelGraph, type FloatType } from './modelInputs.ts';
import { correctCount } from './programs.ts';

export const directionName = (axis: 1 | 2, parameter: string) => `d${axis}.${parameter}`;

export function surfaceGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'surface',
    `${model.name}: summed loss at M points center + alpha d1 + beta d2 of weight space, one Loop iteration per point`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const d1 = new Map<string, Value>();
  const d2 = new Map<string, Value>();
  for (const parameter of model.parameters) {
    d1.set(parameter.name, graph.addInput(directionName(1, parameter.name), dtype, parameter.shape, `first direction for ${parameter.name}`));
    d2.set(parameter.name, graph.addInput(directionName(2, parameter.name), dtype, parameter.shape, `second direction for ${parameter.name}`));
  }
  const alphas = graph.addInput('alphas', dtype, ['M'], 'coordinate along d1 of each point');
  const betas = graph.addInput('betas', dtype, ['M'], 'coordinate along d2 of each point');
  const count = graph.withScope('points', () => gather(shape(alphas), graph.constant('int64', [], [0]), 0, { name: 'count' }));
  const { scans } = hoistedLoop(
    count,
    [],
    'M',
    (i) => {
      const alpha = gather(alphas, i, 0, { name: 'alpha' });
      const beta = gather(betas, i, 0, { name: 'beta' });
      const moved = new Map(
        [...parameters].map(([name, center]) => [name, add(center, add(mul(alpha, d1.get(name)!), mul(beta, d2.get(name)!)), { name: `moved.${name}` })]),
      );
      const y = graph.withScope('forward', () => model.forward(x, moved));
      const scans = [lossOf(model, y, target, 'sum')];
      if (model.task === 'classification') scans.push(correctCount(y, target));
      return { next: [], scans };
    },
    { name: 'points', doc: 'one point: the moved weights, the forward pass, the summed loss (and correct count)' },
  );
  graph.addOutput('loss_sum', scans[0]!, 'loss summed over the batch at each point, [M]');
  if (model.task === 'classification') graph.addOutput('correct', scans[1]!, 'correctly classified examples at each point, [M]');
  return graph;
}
