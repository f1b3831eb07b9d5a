import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { executeRun } from '../../src/experiments/executeRun.ts';
import { runFile } from '../../src/experiments/store.ts';
import type { RunSpec } from '../../src/experiments/types.ts';
import { dense, flatten, relu } from '../../src/nn/layers.ts';
import { sequential } from '../../src/nn/model.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-stopping-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const spec = (training: Partial<RunSpec['training']>): RunSpec => ({
  key: 'memorize',
  label: 'memorize',
  group: 'mnist',
  model: sequential('memorize-mnist', { description: 'test', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [flatten(), dense(64), relu(), dense(10)]),
  data: { limitTrain: 128, limitTest: 500, permuteTrainLabels: 11 },
  training: { epochs: 200, batchSize: 32, optimizer: 'adam', lr: 3e-3, evalEvery: 1, ...training },
  seed: 4,
});

describe('training until a training accuracy', () => {
  it('memorizes random labels: stops at the first epoch past 90%, test accuracy near chance, weights kept', async () => {
    const result = await executeRun(spec({ stopAtTrainAccuracy: 0.9 }), { experiment: 'stop', profile: 'quick', outDir: scratch, ep: 'cpu', threads: 1 });
    const stoppedAt = result.stoppedEarly?.epoch;
    assert.ok(stoppedAt !== undefined && stoppedAt < 200, `stopped early: ${JSON.stringify(result.stoppedEarly)}`);
    assert.equal(result.epochs.length, stoppedAt);
    assert.ok(result.epochs.at(-1)!.trainAccuracy! >= 0.9);
    assert.ok(result.epochs.slice(0, -1).every((e) => e.trainAccuracy! < 0.9), 'no earlier epoch had reached it');
    assert.equal(result.final.testLoss, result.epochs.at(-1)!.testLoss);
    assert.ok(result.final.testAccuracy! < 0.3, `test accuracy ${result.final.testAccuracy} with real test labels`);
    assert.ok(existsSync(runFile(scratch, result, result.weights!)));
  });

  it('runs every epoch when the accuracy is never reached', async () => {
    const result = await executeRun(spec({ epochs: 3, stopAtTrainAccuracy: 1.01 }), { experiment: 'stop-never', profile: 'quick', outDir: scratch, ep: 'cpu', threads: 1 });
    assert.equal(result.stoppedEarly, undefined);
    assert.equal(result.epochs.length, 3);
    assert.equal(result.final.evaluatedTrainLoss, undefined, 'the training set is evaluated only when asked');
  });

  it('evaluates the final weights on the whole training set when asked (record.evaluateTrain)', async () => {
    const asked = { ...spec({ epochs: 2 }), record: { evaluateTrain: true } };
    const result = await executeRun(asked, { experiment: 'evaluate-train', profile: 'quick', outDir: scratch, ep: 'cpu', threads: 1 });
    const loss = result.final.evaluatedTrainLoss!;
    assert.ok(Number.isFinite(loss) && loss > 0 && loss !== result.final.trainLoss, `evaluated ${loss}, running mean ${result.final.trainLoss}`);
    assert.ok(result.final.evaluatedTrainAccuracy! >= 0 && result.final.evaluatedTrainAccuracy! <= 1);
  });
});
