/**
 * Marks runs of a real experiment's plan as finished without training them:
 * a result file with the run's spec fingerprint and an (empty) weights file,
 * which is what `run` and `hw1-onnx slurm` check before skipping a run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Experiment } from '../../../src/experiments/experiment.ts';
import { specHash } from '../../../src/experiments/specHash.ts';
import { runFiles, runPath } from '../../../src/experiments/store.ts';
import type { Profile } from '../../../src/experiments/types.ts';

export function markFinished(outDir: string, experiment: Experiment, profile: Profile, seed: number, keys: readonly string[]): void {
  for (const spec of experiment.plan(profile, seed).runs.filter((run) => keys.includes(run.key))) {
    const files = runFiles(outDir, experiment.id, profile, spec);
    const weights = files.absolute(files.weights);
    mkdirSync(dirname(weights), { recursive: true });
    writeFileSync(weights, '');
    const path = runPath(outDir, experiment.id, profile, seed, spec.key);
    writeFileSync(path, JSON.stringify({ format: 'hw1-onnx/run@2', experiment: experiment.id, key: spec.key, profile, seed, specHash: specHash(spec), weights: files.weights }));
  }
}
