/**
 * Where an experiment's results live:
 * out/<experiment>/runs/<profile>-seed<seed>/<key>.json (one file per run,
 * written atomically as each run finishes, so an interrupted suite or one
 * shard of a cluster job loses nothing that finished, and the quick and full
 * profiles or two seeds never overwrite each other) and
 * out/<experiment>/results.json (the runs last merged).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '../util/atomicWrite.ts';
import type { Experiment } from './experiment.ts';
import type { ExperimentPlan, ExperimentResults, Profile, RunResult, RunSpec } from './types.ts';
import { specHash } from './specHash.ts';

export function experimentDir(outDir: string, experimentId: string): string {
  return join(outDir, experimentId);
}

export function runPath(outDir: string, experimentId: string, profile: Profile, seed: number, key: string): string {
  return join(experimentDir(outDir, experimentId), 'runs', `${profile}-seed${seed}`, `${key}.json`);
}

/**
 * The files of one run beside its result file: <key>/weights.safetensors and
 * <key>/epoch-0003.safetensors, named relative to the result file's folder.
 */
export function runFiles(outDir: string, experimentId: string, profile: Profile, spec: Pick<RunSpec, 'key' | 'seed'>) {
  const folder = dirname(runPath(outDir, experimentId, profile, spec.seed, spec.key));
  return {
    weights: `${spec.key}/weights.safetensors`,
    snapshot: (epoch: number) => `${spec.key}/epoch-${String(epoch).padStart(4, '0')}.safetensors`,
    absolute: (relative: string) => join(folder, relative),
  };
}

/** A file a run result names (its weights, a snapshot), as a path. */
export function runFile(outDir: string, result: RunResult, relative: string): string {
  return runFiles(outDir, result.experiment, result.profile, result).absolute(relative);
}

export function writeRun(outDir: string, result: RunResult): void {
  writeJsonAtomic(runPath(outDir, result.experiment, result.profile, result.seed, result.key), result);
}

/** A finished run of exactly this spec, or undefined (missing, unreadable or made from another spec). */
export function finishedRun(outDir: string, experimentId: string, profile: Profile, spec: RunSpec): RunResult | undefined {
  const path = runPath(outDir, experimentId, profile, spec.seed, spec.key);
  if (!existsSync(path)) return undefined;
  try {
    const result = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
    if (result.format !== 'hw1-onnx/run@2' || result.specHash !== specHash(spec)) return undefined;
    // A result whose weight files are gone is redone too: analyses read them.
    const files = [result.weights, ...(result.snapshots ?? []).map((s) => s.path)];
    return files.every((file) => existsSync(runFile(outDir, result, file))) ? result : undefined;
  } catch {
    return undefined;
  }
}

/** Every finished run of the plan found on disk (whichever process or shard wrote it), in plan order. */
export function collectResults(outDir: string, experiment: Experiment, plan: ExperimentPlan, profile: Profile, seed: number): ExperimentResults {
  const runs = plan.runs.map((spec) => finishedRun(outDir, experiment.id, profile, spec)).filter((r): r is RunResult => r !== undefined);
  return {
    format: 'hw1-onnx/experiment@1',
    experiment: experiment.id,
    title: experiment.title,
    section: experiment.section,
    profile,
    seed,
    settings: plan.settings,
    planned: plan.runs.length,
    runs,
    complete: runs.length === plan.runs.length,
  };
}

export function writeResults(outDir: string, results: ExperimentResults): string {
  const path = join(experimentDir(outDir, results.experiment), 'results.json');
  writeJsonAtomic(path, results);
  return path;
}

/** Every run file of an experiment, whatever its profile and seed (for `report` without flags). */
export function recordedRuns(outDir: string, experimentId: string): RunResult[] {
  const dir = join(experimentDir(outDir, experimentId), 'runs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => {
      try {
        return [JSON.parse(readFileSync(join(dir, file), 'utf8')) as RunResult];
      } catch {
        return [];
      }
    });
}
