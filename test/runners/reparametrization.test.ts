import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hessianOperator, topHessianEigenvalue } from '../../src/analysis/hessian.ts';
import { denseNetworkOutputs, rescaleLayers } from '../../src/analysis/reparametrize.ts';
import { dataForModel } from '../../src/data/forModel.ts';
import { runSuite } from '../../src/experiments/suite.ts';
import type { ExperimentResults } from '../../src/experiments/types.ts';
import { runWeights } from '../../src/experiments/weights.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { PNG_SIGNATURE } from '../support/png.ts';
import { reparametrizationModel, reparametrizationStudy } from '../../runners/1-3-reparametrization.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-reparametrization-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Analysis {
  examples: number;
  reference: { loss: number; maxAbsLogit: number; lambdaMax: number };
  blocks: Array<{ name: string; top: number }>;
  rows: Array<{ factor: number; maxLogitDifference: number; loss: number; lossDifference: number; lambdaMax: number; lanczos: { converged: boolean }; balls: Array<{ epsilon: number; sharpness: number; quadratic: number }> }>;
}

/** Mean cross-entropy of plain float64 logits: nothing shared with the emitted graphs. */
function plainCrossEntropy(logits: Float64Array, labels: Uint8Array, classes: number): number {
  let sum = 0;
  for (let n = 0; n < labels.length; n++) {
    const row = logits.subarray(n * classes, (n + 1) * classes);
    const max = Math.max(...row);
    const logSum = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
    sum += logSum - row[labels[n]!]!;
  }
  return sum / labels.length;
}

describe('1-3-reparametrization', () => {
  it('keeps the loss to round-off while λ_max moves by more than 10x across the grid, and draws its charts', async () => {
    const tiny = { limitTrain: 1000, limitTest: 200, epochs: 1, examples: 100, factors: [0.03, 1, 30], ballSteps: 5, lanczosSteps: 60 };
    const experiment = reparametrizationStudy({ quick: tiny, full: tiny });
    const outDir = join(scratch, 'out');
    await runSuite([experiment], { profile: 'quick', seed: 3, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry: '' }, silentProgress());
    const analysis = JSON.parse(readFileSync(join(outDir, '1-3-reparametrization', 'analysis', 'quick-seed3.json'), 'utf8')).analysis as Analysis;

    assert.deepEqual(analysis.rows.map((row) => row.factor), tiny.factors);
    assert.equal(analysis.examples, tiny.examples);
    for (const row of analysis.rows) {
      assert.ok(Math.abs(row.lossDifference) < 1e-9 * analysis.reference.loss, `a = ${row.factor}: Δloss ${row.lossDifference}`);
      assert.ok(row.maxLogitDifference < 1e-9 * analysis.reference.maxAbsLogit, `a = ${row.factor}: max |Δ logit| ${row.maxLogitDifference}`);
      assert.ok(row.lanczos.converged, `a = ${row.factor}: Lanczos converged`);
      assert.ok(row.balls.every((ball) => ball.sharpness > 0 && ball.quadratic > 0), `a = ${row.factor}: positive sharpness`);
    }
    const lambdas = analysis.rows.map((row) => row.lambdaMax);
    assert.ok(Math.max(...lambdas) > 10 * Math.min(...lambdas), `λ_max ${lambdas.join(', ')}`);

    // Recompute a = 30 independently: the loss by plain arithmetic, λ_max by power iteration (power_iteration.onnx, not Lanczos).
    const results = JSON.parse(readFileSync(join(outDir, '1-3-reparametrization', 'results.json'), 'utf8')) as ExperimentResults;
    const model = resolveModel(reparametrizationModel);
    const data = dataForModel(model, { limitTrain: tiny.examples, limitTest: 1 }).train;
    const row = analysis.rows.find((r) => r.factor === 30)!;
    const weights = rescaleLayers(model, runWeights(outDir, results.runs[0]!, model), { layer: 'fc1', next: 'fc2', factor: 30 });
    const loss = plainCrossEntropy(denseNetworkOutputs(model, weights, data.inputs, data.count), data.labels!, 10);
    assert.ok(Math.abs(loss - row.loss) < 1e-12 * loss, `loss at a = 30: ${row.loss} vs plain ${loss}`);
    const operator = await hessianOperator(model, weights, { x: data.inputs, target: Array.from(data.labels!) }, { threads: 1 });
    const power = await topHessianEigenvalue(operator, { iterations: 500, tolerance: 1e-8, seed: 1 });
    await operator.release();
    assert.ok(power.converged, `power iteration: ${power.iterations} products`);
    assert.ok(Math.abs(power.eigenvalue - row.lambdaMax) < 1e-4 * power.eigenvalue, `λ_max at a = 30: Lanczos ${row.lambdaMax}, power iteration ${power.eigenvalue}`);

    for (const name of ['lambda-max', 'sharpness']) {
      const png = readFileSync(join(outDir, '1-3-reparametrization', `${name}.png`));
      assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE, `${name}.png is a PNG`);
    }
    const report = experiment.report({ ...results, analysis }, [{ path: '1-3-reparametrization/lambda-max.png', caption: 'λ' }]);
    assert.ok(report.includes('![chart](1-3-reparametrization/lambda-max.png)'));
    assert.equal(report.split('\n').filter((line) => /^\| (0\.03|1|30) \|/.test(line)).length, 3, 'one table row per factor');
    assert.match(report, /λ_max does change: from .* a ratio of/);
  });
});
