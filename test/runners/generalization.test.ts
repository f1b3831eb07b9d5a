import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runSuite } from '../../src/experiments/suite.ts';
import type { ExperimentResults } from '../../src/experiments/types.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { paramsStudy } from '../../runners/1-3-params.ts';
import { randomLabelsStudy } from '../../runners/1-3-random-labels.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-generalization-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const suite = (outDir: string) => ({ profile: 'quick' as const, seed: 2, ep: 'cpu' as const, jobs: 1, force: false, outDir, threads: 1, registry: '' });

describe('1-3-params', () => {
  it('counts each width\'s parameters from its declaration: (inputs + 1) w + (w + 1) w + (w + 1) 10', () => {
    const plan = paramsStudy().plan('full', 1);
    const inputs: Record<string, number> = { mnist: 784, cifar10: 3072 };
    assert.ok(plan.runs.filter((r) => r.group === 'mnist').length >= 10);
    for (const run of plan.runs) {
      const width = Number(/width-0*(\d+)/.exec(run.key)![1]);
      const expected = (inputs[run.group]! + 1) * width + (width + 1) * width + (width + 1) * 10;
      assert.equal(resolveModel(run.model).parameterCount, expected, run.key);
      assert.ok(run.label.includes(expected.toLocaleString('en-US')), `${run.key}: ${run.label}`);
    }
    const mnist = plan.runs.filter((r) => r.group === 'mnist').map((r) => resolveModel(r.model).parameterCount);
    assert.ok(Math.max(...mnist) / Math.min(...mnist) >= 100, 'two orders of magnitude');
    assert.match(plan.settings.models!, new RegExp(Math.max(...mnist).toLocaleString('en-US')));
  });

  it('runs a sweep and reports every width with its recorded count, train figures from a whole-set evaluation', async () => {
    const outDir = join(scratch, 'params');
    const scale = { widths: [2, 6], limits: { mnist: { limitTrain: 200, limitTest: 100 }, cifar10: { limitTrain: 100, limitTest: 50, dataDir: '/nonexistent-cifar' } }, epochs: { mnist: 1, cifar10: 1 } };
    const experiment = paramsStudy({ quick: scale, full: scale });
    await runSuite([experiment], suite(outDir), silentProgress());
    const results = JSON.parse(readFileSync(join(outDir, '1-3-params', 'results.json'), 'utf8')) as ExperimentResults;
    const mnist = results.runs.filter((r) => r.group === 'mnist');
    assert.deepEqual(mnist.map((r) => r.model.parameterCount), [785 * 2 + 3 * 2 + 3 * 10, 785 * 6 + 7 * 6 + 7 * 10]);
    for (const run of mnist) assert.ok(Number.isFinite(run.final.evaluatedTrainLoss) && run.final.evaluatedTrainLoss! > 0, run.key);
    assert.ok(existsSync(join(outDir, '1-3-params', 'mnist-loss.png')) && existsSync(join(outDir, '1-3-params', 'mnist-accuracy.png')));
  });
});

describe('1-3-random-labels', () => {
  it('trains on permuted labels until the target training accuracy, and says how long it took', async () => {
    const outDir = join(scratch, 'random');
    const scale = { limitTrain: 128, limitTest: 200, targetAccuracy: 0.6, maxEpochs: 80 };
    const experiment = randomLabelsStudy({ quick: scale, full: scale });
    await runSuite([experiment], suite(outDir), silentProgress());
    const results = JSON.parse(readFileSync(join(outDir, '1-3-random-labels', 'results.json'), 'utf8')) as ExperimentResults;
    const run = results.runs[0]!;
    assert.ok(run.stoppedEarly && run.epochs.length < 80, `stopped at ${run.epochs.length}`);
    assert.ok(run.epochs.at(-1)!.trainAccuracy! >= 0.6);
    assert.match(run.data.source, /permuted with seed 2/);
    const report = experiment.report(results, []);
    assert.match(report, new RegExp(`after ${run.epochs.length} epochs`));
    assert.ok(existsSync(join(outDir, '1-3-random-labels', 'loss.png')));
  });
});
