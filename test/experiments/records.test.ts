import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { dataForModel } from '../../src/data/forModel.ts';
import { renderExperiment } from '../../src/experiments/render.ts';
import { selectExperiments } from '../../src/experiments/selection.ts';
import { runFile, runPath } from '../../src/experiments/store.ts';
import { runSuite, type SuiteOptions } from '../../src/experiments/suite.ts';
import type { RunResult } from '../../src/experiments/types.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { gradientGraph } from '../../src/programs/programs.ts';
import { writeReport } from '../../src/report/report.ts';
import { readModelWeights } from '../../src/runtime/checkpoint.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { createSession } from '../../src/runtime/session.ts';
import { tinyAnalysis, tinyExperiment } from './tinyExperiment.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-records-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const registry = pathToFileURL(join(import.meta.dirname, 'tinyExperiment.ts')).href;
const options = (outDir: string, extra: Partial<SuiteOptions> = {}): SuiteOptions => ({
  profile: 'quick', seed: 1, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry, ...extra,
});
const readRun = (outDir: string, key: string) => JSON.parse(readFileSync(runPath(outDir, 'tiny', 'quick', 1, key), 'utf8')) as RunResult;

describe('runs export their weights', () => {
  it('writes final weights and snapshots every n epochs (epoch 0 included) as safetensors, listed with their losses', async () => {
    const outDir = join(scratch, 'snapshots');
    const experiment = tinyExperiment({ record: { snapshotEvery: 2, steps: true } });
    await runSuite([experiment], options(outDir), silentProgress());
    const run = readRun(outDir, 'width-4');
    const model = resolveModel(experiment.plan('quick', 1).runs[0]!.model);
    assert.equal(run.weights, 'width-4/weights.safetensors');
    assert.deepEqual(run.snapshots!.map((s) => [s.epoch, s.path]), [
      [0, 'width-4/epoch-0000.safetensors'],
      [2, 'width-4/epoch-0002.safetensors'],
      [4, 'width-4/epoch-0004.safetensors'],
    ]);
    // Epoch 0 is the seeded initialization; the last snapshot is the final weights.
    const initial = initializeParameters(model, 1);
    const first = readModelWeights(runFile(outDir, run, run.snapshots![0]!.path), model);
    for (const [name, values] of initial) assert.deepEqual(first.get(name), values, name);
    const last = readModelWeights(runFile(outDir, run, run.snapshots![2]!.path), model);
    const final = readModelWeights(runFile(outDir, run, run.weights), model);
    for (const [name, values] of final) assert.deepEqual(last.get(name), values, name);
    // The losses at each snapshot: the test loss at the end equals the run's final test loss.
    assert.equal(run.snapshots![2]!.testLoss, run.final.testLoss);
    assert.ok(run.snapshots!.every((s) => Number.isFinite(s.trainLoss) && Number.isFinite(s.testLoss)));
    assert.ok(run.snapshots![2]!.trainLoss < run.snapshots![0]!.trainLoss, 'training lowered the loss');
    // Every step's loss and gradient norm: 64 examples in batches of 16, 4 epochs.
    assert.equal(run.steps!.loss.length, 16);
    assert.equal(run.steps!.gradNorm.length, 16);
    assert.ok(run.steps!.gradNorm.every((g) => g > 0 && Number.isFinite(g)));
  });

  it('records each step\'s gradient norm as sqrt(sum of squares) of gradient.onnx\'s gradients there, with many steps per call', async () => {
    const outDir = join(scratch, 'gradnorm');
    // Full batch: step t's gradient is that of the snapshot after epoch t - 1 on the whole training set.
    const experiment = tinyExperiment({ record: { snapshotEvery: 1, steps: true }, batchSize: 'full-batch' });
    await runSuite([experiment], options(outDir), silentProgress());
    const spec = experiment.plan('quick', 1).runs[0]!;
    const model = resolveModel(spec.model);
    const data = dataForModel(model, spec.data);
    const run = readRun(outDir, spec.key);
    const session = await createSession(serializeGraph(gradientGraph(model)), { threads: 1 });
    for (let step = 1; step <= 4; step++) {
      const weights = readModelWeights(runFile(outDir, run, run.snapshots![step - 1]!.path), model);
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', data.train.inputs, [data.train.count, 1]),
        target: new ort.Tensor('float32', data.train.targets!, [data.train.count, 1]),
      };
      for (const p of model.parameters) feeds[p.name] = new ort.Tensor('float32', weights.get(p.name) as Float32Array, [...p.shape]);
      const outputs = await session.run(feeds);
      let sumOfSquares = 0;
      for (const p of model.parameters) for (const g of outputs[`grad.${p.name}`]!.data as Float32Array) sumOfSquares += g * g;
      const expected = Math.sqrt(sumOfSquares);
      assert.ok(Math.abs(run.steps!.gradNorm[step - 1]! - expected) <= 1e-5 * expected, `step ${step}: ${run.steps!.gradNorm[step - 1]} vs ${expected}`);
      assert.ok(Math.abs(run.steps!.loss[step - 1]! - (outputs.loss!.data as Float32Array)[0]!) <= 1e-6, `step ${step} loss`);
    }
    await session.release();
  });

  it('keeps snapshots through an interrupted, resumed suite, and redoes a run whose weight files are gone', async () => {
    const outDir = join(scratch, 'resume');
    const record = { snapshotEvery: 2 };
    await assert.rejects(runSuite([tinyExperiment({ failOn: 'width-8', record })], options(outDir), silentProgress()));
    const finished = readRun(outDir, 'width-4');
    const snapshot = runFile(outDir, finished, finished.snapshots![1]!.path);
    const written = statSync(snapshot).mtimeMs;
    const resumed = await runSuite([tinyExperiment({ record })], options(outDir), silentProgress());
    assert.equal(resumed.skipped, 1);
    assert.equal(statSync(snapshot).mtimeMs, written, 'the finished run and its snapshots were kept as they were');
    rmSync(runFile(outDir, finished, finished.weights));
    const redone = await runSuite([tinyExperiment({ record })], options(outDir), silentProgress());
    assert.equal(redone.executed, 1, 'a result without its weights file is stale');
    assert.ok(existsSync(runFile(outDir, finished, finished.weights)));
  });
});

describe('analyses across runs', () => {
  it('run selects what an analysis requires, analyzes once the runs exist, caches it, and report shows it', async () => {
    const outDir = join(scratch, 'analysis');
    const calls = { count: 0 };
    const all = [tinyExperiment(), tinyAnalysis(calls)];
    assert.deepEqual(selectExperiments(['tiny-analysis'], all).map((e) => e.id), ['tiny', 'tiny-analysis']);
    const summary = await runSuite(selectExperiments(['tiny-analysis'], all), options(outDir), silentProgress());
    assert.deepEqual(summary.completeExperiments, ['tiny', 'tiny-analysis']);
    assert.equal(calls.count, 1);
    const rendered = await renderExperiment(all[1]!, outDir, 'quick', 1, { experiments: all });
    assert.equal(calls.count, 1, 'the cached analysis is read, not recomputed');
    assert.equal((rendered.results.analysis as { runs: number }).runs, 3);
    const report = readFileSync((await writeReport(all, { outDir })).markdownPath, 'utf8');
    assert.match(report, /computed from the runs of tiny\.\n\nanalyzed 3 runs, weight sums/);
    assert.equal(calls.count, 1);
    // A rerun of an input invalidates the cache.
    await runSuite([tinyExperiment()], options(outDir, { force: true }), silentProgress());
    await renderExperiment(all[1]!, outDir, 'quick', 1, { experiments: all });
    assert.equal(calls.count, 2);
  });

  it('waits, and says for what, while a required experiment is incomplete', async () => {
    const outDir = join(scratch, 'waiting');
    const calls = { count: 0 };
    const all = [tinyExperiment(), tinyAnalysis(calls)];
    await runSuite([all[0]!], options(outDir, { shard: { index: 1, count: 2 } }), silentProgress());
    const rendered = await renderExperiment(all[1]!, outDir, 'quick', 1, { experiments: all });
    assert.deepEqual(rendered.waitingFor, ['tiny']);
    assert.equal(calls.count, 0);
    const report = readFileSync((await writeReport(all, { outDir })).markdownPath, 'utf8');
    assert.match(report, /Waits for the runs of tiny/);
  });
});
