import { createHash } from 'node:crypto';
import { resolveModel } from '../nn/model.ts';
import { optimizerByName } from '../optim/index.ts';
import type { RunSpec } from './types.ts';

/**
 * A fingerprint of what a run would compute, and of nothing else: the
 * model's layers with their shapes, parameters, initializations and
 * attributes (a dropout's p, a pooling's geometry), the data, the training
 * settings with the optimizer's full configuration (so writing out a default
 * changes nothing), the seed. Labels and keys are left out. A result file
 * with another fingerprint is stale and is run again.
 */
export function specHash(spec: RunSpec): string {
  return createHash('sha256').update(canonicalJson(specIdentity(spec))).digest('hex').slice(0, 16);
}

/** What specHash hashes, as plain data. */
export function specIdentity(spec: RunSpec): unknown {
  const model = resolveModel(spec.model);
  const { optimizerOptions, ...training } = spec.training;
  return {
    model: {
      task: model.task,
      inputShape: model.inputShape,
      dataset: model.dataset,
      layers: model.layers.map((layer) => ({
        name: layer.name,
        type: layer.type,
        outputShape: layer.outputShape,
        attributes: layer.attributes,
        parameters: layer.parameters.map((p) => ({ name: p.name, shape: p.shape, init: p.init.kind === 'values' ? { kind: 'values', digest: p.init.digest } : p.init })),
      })),
    },
    data: spec.data,
    training: { ...training, optimizerConfig: optimizerByName(spec.training.optimizer, optimizerOptions).config },
    seed: spec.runSeed ?? spec.seed,
    predictionPoints: spec.predictionPoints ?? null,
    record: spec.record ?? null,
  };
}

/** JSON with every object's keys sorted and undefined members left out, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) => {
    if (member === null || typeof member !== 'object' || Array.isArray(member)) return member;
    const entries = Object.entries(member as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
