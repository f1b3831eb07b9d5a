import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runSuite } from '../../src/experiments/suite.ts';
import type { ExperimentResults } from '../../src/experiments/types.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { sharpnessStudy, type ModelMetrics } from '../../runners/1-3-sharpness.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-sharpness-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('1-3-sharpness', () => {
  it('measures each batch size\'s Hessian in agreeing ways: power iteration = Lanczos, blocks below the full lambda_max, the ball at least the Taylor bound', async () => {
    const scale = { batchSizes: [32, 256], limitTrain: 600, limitTest: 200, epochs: 1, minSteps: 10, examples: 200, lanczosSteps: 60, densityRuns: 1, densitySteps: 20, traceSamples: 10, ascentSteps: 10 };
    const experiment = sharpnessStudy({ quick: scale, full: scale });
    const outDir = join(scratch, 'out');
    await runSuite([experiment], { profile: 'quick', seed: 3, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry: '' }, silentProgress());
    const analysis = JSON.parse(readFileSync(join(outDir, '1-3-sharpness', 'analysis', 'quick-seed3.json'), 'utf8')).analysis as { models: ModelMetrics[]; examples: number };
    assert.deepEqual(analysis.models.map((m) => m.batchSize), [32, 256]);
    assert.equal(analysis.examples, 200);
    // Batch 256 on 600 images: 3 steps an epoch, so the step floor raised its epochs.
    assert.equal(analysis.models[1]!.epochs, 4);
    for (const m of analysis.models) {
      const lambda = m.lanczos.top[0]!;
      assert.ok(m.lanczos.converged && m.power.converged, m.key);
      assert.ok(Math.abs(m.power.lambda - lambda) <= 2e-3 * lambda, `${m.key}: power ${m.power.lambda} vs Lanczos ${lambda}`);
      assert.ok(m.lanczos.top.every((v, i) => i === 0 || v <= m.lanczos.top[i - 1]!), 'top eigenvalues sorted');
      assert.ok(m.blockDiagonal.max <= lambda * (1 + 2e-3), `${m.key}: a block's top eigenvalue cannot exceed the full one`);
      assert.ok(Math.abs(m.sharpness - (lambda * 1e-8) / (2 * (1 + m.loss))) < 1e-20);
      const ball = m.ball[0]!;
      const taylor = Math.max(ball.epsilon * m.gradientNorm, (lambda * ball.epsilon ** 2) / 2);
      assert.ok(ball.rise >= 0.9 * taylor, `${m.key}: rise ${ball.rise} vs ${taylor}`);
      assert.ok(Number.isFinite(m.trace.value) && m.trace.standardError > 0);
    }
    const report = experiment.report(JSON.parse(readFileSync(join(outDir, '1-3-sharpness', 'results.json'), 'utf8')) as ExperimentResults, []);
    assert.match(report, /Kendall's tau-b/);
    for (const chart of ['sharpness', 'loss', 'ball', 'density']) assert.ok(existsSync(join(outDir, '1-3-sharpness', `${chart}.png`)), chart);
  });
});
