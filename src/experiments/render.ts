import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionProviderName } from '../runtime/providers.ts';
import { writeJsonAtomic } from '../util/atomicWrite.ts';
import type { ChartFile, Experiment } from './experiment.ts';
import { canonicalJson } from './specHash.ts';
import { collectResults, experimentDir, writeResults } from './store.ts';
import type { ExperimentResults, Profile } from './types.ts';

export interface RenderOptions {
  /** The experiments an experiment may require, by id. */
  experiments: readonly Experiment[];
  ep?: ExecutionProviderName;
  threads?: number;
  /** Recompute a cached analysis. */
  force?: boolean;
  log?: (line: string) => void;
}

/**
 * Merges an experiment's run files into results.json; when every run exists
 * (and those of the experiments it requires), runs its analysis (or reads
 * the cached one) and draws its charts.
 */
export async function renderExperiment(
  experiment: Experiment,
  outDir: string,
  profile: Profile,
  seed: number,
  options: RenderOptions,
): Promise<{ results: ExperimentResults; resultsPath: string; charts: ChartFile[]; waitingFor: string[] }> {
  const results = collectResults(outDir, experiment, experiment.plan(profile, seed), profile, seed);
  const required: Record<string, ExperimentResults> = {};
  const waitingFor: string[] = [];
  for (const id of experiment.requires ?? []) {
    const dependency = options.experiments.find((e) => e.id === id);
    if (!dependency) throw new Error(`${experiment.id} requires experiment ${id}, which is not registered`);
    required[id] = collectResults(outDir, dependency, dependency.plan(profile, seed), profile, seed);
    if (!required[id]!.complete) waitingFor.push(id);
  }
  if (!results.complete) waitingFor.unshift(experiment.id);
  if (experiment.analyze && waitingFor.length === 0) results.analysis = await cachedAnalysis(experiment, results, required, outDir, options);
  // With nothing found for this profile and seed, results.json (maybe another selection's) stays as it is.
  const drawable = results.runs.length > 0 || results.analysis !== undefined;
  const resultsPath = drawable ? writeResults(outDir, results) : join(experimentDir(outDir, experiment.id), 'results.json');
  const charts = drawable ? await experiment.charts(results, outDir) : [];
  return { results, resultsPath, charts, waitingFor };
}

/**
 * The analysis of exactly these runs: out/<id>/analysis/<profile>-seed<seed>.json
 * holds it with a fingerprint of its inputs (every run's spec and finish
 * time and the plan's settings, its own and the required experiments'), so `report` does not redo
 * an expensive analysis and a rerun of any input does.
 */
async function cachedAnalysis(
  experiment: Experiment,
  results: ExperimentResults,
  required: Record<string, ExperimentResults>,
  outDir: string,
  options: RenderOptions,
): Promise<unknown> {
  // The settings describe the analysis too (grids, sample counts, subsets): a changed one redoes it.
  const inputs = [results, ...Object.values(required)].map((r) => ({ experiment: r.experiment, settings: r.settings, runs: r.runs.map((run) => [run.key, run.specHash, run.finishedAt]) }));
  const fingerprint = createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 16);
  const path = join(experimentDir(outDir, experiment.id), 'analysis', `${results.profile}-seed${results.seed}.json`);
  if (!options.force && existsSync(path)) {
    try {
      const cached = JSON.parse(readFileSync(path, 'utf8')) as { fingerprint: string; analysis: unknown };
      if (cached.fingerprint === fingerprint) return cached.analysis;
    } catch {
      // Unreadable: computed again below.
    }
  }
  const log = options.log ?? (() => {});
  const started = performance.now();
  log(`${experiment.id}: analysis of ${[experiment.id, ...Object.keys(required)].join(' + ')} (${results.profile}, seed ${results.seed})`);
  const analysis = await experiment.analyze!(results, { outDir, ep: options.ep ?? 'cpu', threads: options.threads, required, log });
  const seconds = (performance.now() - started) / 1000;
  log(`${experiment.id}: analysis done in ${seconds.toFixed(1)} s`);
  writeJsonAtomic(path, { format: 'hw1-onnx/analysis@1', experiment: experiment.id, fingerprint, seconds, analysis });
  return analysis;
}
