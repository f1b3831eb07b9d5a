import { UserError } from '../util/errors.ts';
import type { Experiment } from './experiment.ts';

/** Resolves "all", a section ("1-1") or experiment ids ("1-1-function") to experiments, with those they require, in suite order. */
export function selectExperiments(names: readonly string[], experiments: readonly Experiment[]): Experiment[] {
  if (names.length === 0) throw new UserError('name an experiment, a section or "all" (list them with: hw1-onnx run --list)');
  const selected = new Set<Experiment>();
  for (const name of names) {
    const matches = name === 'all' ? experiments : experiments.filter((e) => e.id === name || e.section === name);
    if (matches.length === 0) {
      const known = [...new Set(experiments.flatMap((e) => [e.section, e.id]))].join(', ');
      throw new UserError(`unknown experiment "${name}" (known: all, ${known}; see: hw1-onnx run --list)`);
    }
    for (const experiment of matches) selected.add(experiment);
  }
  // What a selected experiment analyzes is run too (its runs are skipped where finished).
  const pending = [...selected];
  while (pending.length > 0) {
    for (const id of pending.pop()!.requires ?? []) {
      const required = experiments.find((e) => e.id === id);
      if (required && !selected.has(required)) {
        selected.add(required);
        pending.push(required);
      }
    }
  }
  return experiments.filter((e) => selected.has(e));
}

/** "K/N" -> the K-th (1-based) of N slices. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index < 1 || index > count) {
    throw new UserError(`--shard must be K/N with 1 <= K <= N (for example 2/8 for the second of eight slices), got "${text}"`);
  }
  return { index, count };
}

/** Runs are dealt round-robin over the shards, so every shard gets a mix of cheap and costly runs. */
export function inShard<T>(items: readonly T[], shard: { index: number; count: number } | undefined): T[] {
  if (!shard) return [...items];
  return items.filter((_, i) => i % shard.count === shard.index - 1);
}
