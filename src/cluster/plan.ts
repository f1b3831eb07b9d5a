/**
 * Which slices of a sweep still have work: the runs of the selected
 * experiments dealt over N shards exactly as `run --shard K/N` deals them,
 * with the finished runs on disk taken out, as `run` skips them.
 */
import type { Experiment } from '../experiments/experiment.ts';
import { inShard } from '../experiments/selection.ts';
import { finishedRun } from '../experiments/store.ts';
import type { Profile } from '../experiments/types.ts';

export interface ShardWork {
  /** K of --shard K/N, 1-based. */
  index: number;
  /** "<experiment>/<key>" of each run this shard still has to do, in the order it does them. */
  missing: string[];
}

export interface SweepStatus {
  shardCount: number;
  planned: number;
  finished: number;
  /** Only the shards with at least one missing run. */
  shards: ShardWork[];
}

export function sweepStatus(experiments: readonly Experiment[], options: { profile: Profile; seed: number; shardCount: number; outDir: string }): SweepStatus {
  const shards: ShardWork[] = Array.from({ length: options.shardCount }, (_, i) => ({ index: i + 1, missing: [] }));
  let planned = 0;
  let finished = 0;
  for (const experiment of experiments) {
    const runs = experiment.plan(options.profile, options.seed).runs;
    planned += runs.length;
    for (const shard of shards) {
      for (const spec of inShard(runs, { index: shard.index, count: options.shardCount })) {
        if (finishedRun(options.outDir, experiment.id, options.profile, spec)) finished++;
        else shard.missing.push(`${experiment.id}/${spec.key}`);
      }
    }
  }
  return { shardCount: options.shardCount, planned, finished, shards: shards.filter((shard) => shard.missing.length > 0) };
}

/**
 * The default N: 8 slices, or fewer when no experiment has that many runs
 * (slices are dealt per experiment, so more would stay empty).
 */
export function defaultShardCount(experiments: readonly Experiment[], profile: Profile, seed: number): number {
  const largest = Math.max(1, ...experiments.map((experiment) => experiment.plan(profile, seed).runs.length));
  return Math.min(8, largest);
}

/** A job name that tells sweeps apart in a shared queue: hw1-onnx-<selection>-<profile>-seed<seed>. */
export function sweepName(selection: readonly string[], profile: Profile, seed: number): string {
  const what = selection.join('+').replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 80);
  return `hw1-onnx-${what}-${profile}-seed${seed}`;
}
