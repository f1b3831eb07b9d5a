import type { Experiment, ChartFile } from './experiment.ts';
import { collectResults, writeResults } from './store.ts';
import type { ExperimentResults, Profile } from './types.ts';

/** Merges an experiment's run files into results.json and, when every run exists, draws its charts. */
export async function renderExperiment(
  experiment: Experiment,
  outDir: string,
  profile: Profile,
  seed: number,
): Promise<{ results: ExperimentResults; resultsPath: string; charts: ChartFile[] }> {
  const results = collectResults(outDir, experiment, experiment.plan(profile, seed), profile, seed);
  const resultsPath = writeResults(outDir, results);
  const charts = results.runs.length > 0 ? await experiment.charts(results, outDir) : [];
  return { results, resultsPath, charts };
}
