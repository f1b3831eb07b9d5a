import { createHash } from 'node:crypto';
import { resolveModel } from '../nn/model.ts';
import type { RunSpec } from './types.ts';

/**
 * A fingerprint of what a run would compute: the model's layers and
 * parameters, the data, the training settings and the seed. A result file
 * with another fingerprint is stale and is run again.
 */
export function specHash(spec: RunSpec): string {
  const model = resolveModel(spec.model);
  const description = {
    model: model.layers.map((layer) => [layer.name, layer.type, layer.outputShape, layer.parameters.map((p) => [p.name, p.shape])]),
    dataset: spec.model.dataset,
    inputShape: spec.model.inputShape,
    task: spec.model.task,
    data: spec.data,
    training: spec.training,
    seed: spec.seed,
    predictionPoints: spec.predictionPoints ?? null,
  };
  return createHash('sha256').update(JSON.stringify(description)).digest('hex').slice(0, 16);
}
