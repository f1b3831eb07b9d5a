import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { modelBatchLoss, sampledMinimalRatio } from '../../src/analysis/criticalPoints.ts';
import { networkSecondOrder } from '../../src/analysis/criticalSearch.ts';
import { flattenWeights } from '../../src/analysis/flatWeights.ts';
import { hessianEigenvalues, minimalRatio } from '../../src/analysis/hessian.ts';
import { dataForModel } from '../../src/data/forModel.ts';
import { runSuite } from '../../src/experiments/suite.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { readModelWeights } from '../../src/runtime/checkpoint.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { Random } from '../../src/util/random.ts';
import { Matrix } from 'ml-matrix';
import { criticalModel, minimalRatioStudy } from '../../runners/1-2-minimal-ratio.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-minimal-ratio-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The 1-8-8-1 network's MSE written out in plain arithmetic: nothing shared with the emitted graphs. */
function plainLoss(weights: Map<string, ArrayLike<number>>, x: ArrayLike<number>, y: ArrayLike<number>): number {
  const layers = ['fc1', 'fc2', 'fc3'].map((name) => ({ w: weights.get(`${name}.weight`)!, b: weights.get(`${name}.bias`)! }));
  let sum = 0;
  for (let n = 0; n < x.length; n++) {
    let h = [x[n]!];
    layers.forEach(({ w, b }, k) => {
      h = Array.from(b, (bias, j) => {
        const z = h.reduce((s, v, i) => s + w[j * h.length + i]! * v, bias);
        return k < layers.length - 1 ? Math.max(z, 0) : z;
      });
    });
    sum += (h[0]! - y[n]!) ** 2;
  }
  return sum / x.length;
}

describe('1-2-minimal-ratio', () => {
  it("reports a minimal ratio and gradient norm for each end point that its saved weights give again", async () => {
    const tiny = { runs: 2, phase1Epochs: 60, lmSteps: 15, gradNormSteps: 100, samples: 64 };
    const experiment = minimalRatioStudy({ quick: tiny, full: tiny });
    const outDir = join(scratch, 'out');
    await runSuite([experiment], { profile: 'quick', seed: 5, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry: '' }, silentProgress());
    const file = JSON.parse(readFileSync(join(outDir, '1-2-minimal-ratio', 'analysis', 'quick-seed5.json'), 'utf8'));
    const analysis = file.analysis as {
      runs: Array<{ seed: number; points: Array<{ method: string; loss: number; gradientNorm: number; weights: string; eigen: { ratio: number | null; positive: number; negative: number; zero: number }; sampled: { ratio: number; higher: number } }> }>;
    };
    assert.equal(analysis.runs.length, 2);

    const model = resolveModel(criticalModel);
    const data = dataForModel(model, experiment.plan('quick', 5).runs[0]!.data).train;
    const batch = { x: data.inputs, target: data.targets!, count: data.count };
    const oracle = await networkSecondOrder(model, batch, { threads: 1 });
    try {
      for (const run of analysis.runs) {
        assert.deepEqual(run.points.map((p) => p.method).sort(), ['gradnorm', 'lm']);
        for (const point of run.points) {
          const weights = readModelWeights(join(outDir, point.weights), model);
          const theta = flattenWeights(model, weights);
          const at = await oracle.at(theta);
          const what = `seed ${run.seed}, ${point.method}`;
          assert.equal(at.loss, point.loss, `${what}: loss`);
          assert.ok(Math.abs(plainLoss(weights, data.inputs, data.targets as ArrayLike<number>) - point.loss) <= 1e-12 * point.loss, `${what}: the loss by plain arithmetic`);
          assert.ok(Math.abs(Math.hypot(...at.gradient) - point.gradientNorm) <= 1e-14 * point.gradientNorm, `${what}: gradient norm ${point.gradientNorm}`);
          const size = model.parameterCount;
          const eigen = minimalRatio(hessianEigenvalues(new Matrix(Array.from({ length: size }, (_, i) => Array.from(at.hessian.subarray(i * size, (i + 1) * size))))), { dtype: 'float64' });
          assert.deepEqual({ ratio: eigen.ratio, positive: eigen.positive, negative: eigen.negative, zero: eigen.zero }, { ratio: point.eigen.ratio, positive: point.eigen.positive, negative: point.eigen.negative, zero: point.eigen.zero }, `${what}: eigenvalue counts`);
          const sampler = await modelBatchLoss(model, theta, batch, { threads: 1 });
          const sampled = await sampledMinimalRatio(sampler.lossAt, theta, { radius: 1e-3, samples: tiny.samples, random: new Random(run.seed), batch: tiny.samples });
          await sampler.release();
          assert.equal(sampled.ratio, point.sampled.ratio, `${what}: sampled ratio`);
        }
      }
    } finally {
      await oracle.release();
    }
  });
});
