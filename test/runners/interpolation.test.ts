import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lossPeak } from '../../src/analysis/interpolation.ts';
import { dataForModel } from '../../src/data/forModel.ts';
import { runSuite } from '../../src/experiments/suite.ts';
import { formatNumber } from '../../src/experiments/summaries.ts';
import type { ExperimentResults } from '../../src/experiments/types.ts';
import { runWeights } from '../../src/experiments/weights.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { adam } from '../../src/optim/adam.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { PNG_SIGNATURE } from '../support/png.ts';
import { interpolationModel, interpolationStudy } from '../../runners/1-3-interpolation.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-interpolation-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Curve {
  loss: number[];
  accuracy: number[];
}

describe('1-3-interpolation', () => {
  it('interpolates each pair of runs, with α = 0 and α = 1 their own evaluations, and draws a chart per pair', async () => {
    // 300 training images in chunks of 128 (three calls per α batch), 100 test images in one.
    const tiny = { limitTrain: 300, limitTest: 100, epochs: 1, alphas: 7, chunk: 128 };
    const experiment = interpolationStudy({ quick: tiny, full: tiny });
    const outDir = join(scratch, 'out');
    await runSuite([experiment], { profile: 'quick', seed: 3, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry: '' }, silentProgress());

    const file = JSON.parse(readFileSync(join(outDir, '1-3-interpolation', 'analysis', 'quick-seed3.json'), 'utf8'));
    const analysis = file.analysis as { alpha: number[]; data: { train: number; test: number }; pairs: Array<{ key: string; runs: [string, string]; train: Curve; test: Curve; calls: number }> };
    // 7 evenly spaced α on [-1, 2] and the flatness probes -0.25 and 1.25.
    assert.deepEqual(analysis.alpha, [-1, -0.5, -0.25, 0, 0.5, 1, 1.25, 1.5, 2]);
    assert.deepEqual(analysis.data, { train: 300, test: 100 });
    assert.deepEqual(analysis.pairs.map((p) => [p.key, ...p.runs]), [['batch', 'batch-64', 'batch-1024'], ['lr', 'lr-1e-3', 'lr-1e-2']]);

    const results = JSON.parse(readFileSync(join(outDir, '1-3-interpolation', 'results.json'), 'utf8')) as ExperimentResults;
    const run = (key: string) => results.runs.find((r) => r.key === key)!;
    assert.deepEqual(
      results.runs.map((r) => [r.key, r.training.resolvedBatchSize, r.training.lr, r.seed, r.training.optimizer]).sort(),
      [['batch-1024', 1024, 1e-3, 3, 'adam'], ['batch-64', 64, 1e-3, 3, 'adam'], ['lr-1e-2', 64, 1e-2, 3, 'adam'], ['lr-1e-3', 64, 1e-3, 3, 'adam']],
    );

    const model = resolveModel(interpolationModel);
    const data = dataForModel(model, { limitTrain: 300, limitTest: 100 });
    const zero = analysis.alpha.indexOf(0);
    const one = analysis.alpha.indexOf(1);
    for (const pair of analysis.pairs) {
      // One session per pair; every call takes all 9 α: 3 chunks of training images and 1 of test images.
      assert.equal(pair.calls, 4, `${pair.key}: onnxruntime calls`);
      for (const curve of [pair.train, pair.test]) {
        assert.equal(curve.loss.length, 9);
        assert.ok(curve.loss.every((v) => Number.isFinite(v) && v > 0));
        assert.ok(curve.accuracy.every((v) => v >= 0 && v <= 1));
      }
      for (const [end, index] of [[0, zero], [1, one]] as const) {
        const r = run(pair.runs[end]);
        const what = `${pair.key}, α = ${end} (${r.key})`;
        // The run's own final test evaluation, one chunk of 100 like the interpolation's.
        assert.equal(pair.test.loss[index], r.final.testLoss, `${what}: test loss`);
        assert.equal(pair.test.accuracy[index], r.final.testAccuracy, `${what}: test accuracy`);
        // Its final training loss is the running mean of the epoch, not comparable: evaluate its saved weights instead.
        const trainer = await Trainer.create(model, adam(), runWeights(outDir, r, model), { threads: 1 });
        const own = await trainer.evaluate(data.train, 128);
        await trainer.release();
        assert.equal(pair.train.loss[index], own.loss, `${what}: training loss`);
        assert.equal(pair.train.accuracy[index], own.accuracy, `${what}: training accuracy`);
      }
      assert.notEqual(pair.test.loss[zero], pair.test.loss[one], `${pair.key}: the two models differ`);
    }
    // batch-64 and lr-1e-3 are the same settings and seed: the same model.
    assert.equal(analysis.pairs[0]!.test.loss[zero], analysis.pairs[1]!.test.loss[zero]);

    for (const name of ['batch', 'lr']) {
      const png = readFileSync(join(outDir, '1-3-interpolation', `${name}.png`));
      assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, `${name}.png is a PNG`);
    }
    const report = experiment.report({ ...results, analysis }, [
      { path: '1-3-interpolation/batch.png', caption: 'batch' },
      { path: '1-3-interpolation/lr.png', caption: 'lr' },
    ]);
    const peak = lossPeak(analysis.alpha, analysis.pairs[0]!.train.loss)!;
    assert.match(report, /\*\*Pair A, batch size: θ₁ = batch 64, lr 1e-3, θ₂ = batch 1024, lr 1e-3\*\*/);
    assert.ok(report.includes(`| training | ${formatNumber(analysis.pairs[0]!.train.loss[zero]!)} |`), 'the table starts with the end-point loss');
    assert.ok(report.includes(`| ${peak.alpha.toFixed(2)} |`), `the peak α ${peak.alpha} in the table`);
    assert.ok(report.includes('![chart](1-3-interpolation/lr.png)'));
    assert.match(report, /same settings and seed: their test losses are identical/);
  });
});
