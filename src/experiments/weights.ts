/** Reading back what runs wrote: their final weights and snapshots, for analyses across runs. */
import type { FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import { readModelWeights } from '../runtime/checkpoint.ts';
import { runFile } from './store.ts';
import type { RunResult, SnapshotRecord } from './types.ts';

export function runWeights(outDir: string, run: RunResult, model: Model): Map<string, FloatArray> {
  return readModelWeights(runFile(outDir, run, run.weights), model);
}

export function runSnapshots(outDir: string, run: RunResult, model: Model): Array<SnapshotRecord & { weights: Map<string, FloatArray> }> {
  return (run.snapshots ?? []).map((snapshot) => ({ ...snapshot, weights: readModelWeights(runFile(outDir, run, snapshot.path), model) }));
}
