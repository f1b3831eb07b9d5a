import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTraining, type RunMetrics } from '../../runners/train.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { sampleFunction } from '../../src/data/functions.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { adam } from '../../src/optim/adam.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { encodeSafetensors, readSafetensors } from '../../src/runtime/checkpoint.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { DataError, DivergenceError } from '../../src/util/errors.ts';
import { Random } from '../../src/util/random.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-trainer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('Trainer', () => {
  it('learns MNIST: a 784-32-32-10 MLP on 6,000 images beats 85% test accuracy after 2 epochs', async () => {
    const model = findModel('mnist-dnn-small');
    const data = loadMnist({ limitTrain: 6000, limitTest: 1000 });
    const trainer = await Trainer.create(model, adam(), initializeParameters(model, 1), { threads: 2 });
    const before = await trainer.evaluate(data.test);
    const random = new Random(1);
    const first = await trainer.trainEpoch(data.train, { batchSize: 64, lr: 2e-3, random });
    const second = await trainer.trainEpoch(data.train, { batchSize: 64, lr: 2e-3, random });
    const afterTraining = await trainer.evaluate(data.test);
    assert.equal(first.steps, Math.ceil(6000 / 64), 'the last, smaller batch is kept');
    assert.equal(trainer.stepCount, 2 * first.steps);
    assert.ok(second.loss < first.loss, `training loss falls: ${first.loss} -> ${second.loss}`);
    assert.ok(before.accuracy! < 0.3, `untrained accuracy ${before.accuracy}`);
    assert.ok(afterTraining.accuracy! > 0.85, `test accuracy ${afterTraining.accuracy}`);
    assert.ok(Math.abs(before.loss - Math.log(10)) < 0.3, `untrained loss near ln 10: ${before.loss}`);
    await trainer.release();
  });

  it('is deterministic: the same seed gives bit-identical weights on CPU', async () => {
    const model = findModel('mnist-dnn-small');
    const data = loadMnist({ limitTrain: 512 });
    const trainOnce = async (seed: number) => {
      const trainer = await Trainer.create(model, adam(), initializeParameters(model, seed), { threads: 2 });
      await trainer.trainEpoch(data.train, { batchSize: 32, lr: 1e-3, random: new Random(seed) });
      const weights = trainer.parameters();
      await trainer.release();
      return weights;
    };
    const [a, b, c] = [await trainOnce(5), await trainOnce(5), await trainOnce(6)];
    for (const [name, values] of a) assert.deepEqual(values, b.get(name), name);
    assert.notDeepEqual(a.get('fc1.weight'), c.get('fc1.weight'));
  });

  it('fits a regression: func-shallow on sin(5πx)/(5πx) lowers its MSE', async () => {
    const model = findModel('func-shallow');
    const data = sampleFunction('sinc', 256);
    const trainer = await Trainer.create(model, adam(), initializeParameters(model, 2), { threads: 1 });
    const start = await trainer.evaluate(data);
    const random = new Random(2);
    for (let epoch = 0; epoch < 60; epoch++) await trainer.trainEpoch(data, { batchSize: 32, lr: 1e-2, random });
    const end = await trainer.evaluate(data);
    assert.equal(end.accuracy, undefined);
    assert.ok(end.loss < start.loss / 3, `MSE ${start.loss} -> ${end.loss}`);
  });

  it('stops on divergence with a clear error and keeps weights whose loss is finite', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 64);
    for (const stepsPerCall of [1, 4]) {
      const trainer = await Trainer.create(model, sgd(), initializeParameters(model, 1), { threads: 1, stepsPerCall });
      // lr 1e38: the first update is finite but its weights overflow the next loss.
      await assert.rejects(
        async () => {
          for (let epoch = 0; epoch < 50; epoch++) await trainer.trainEpoch(data, { batchSize: 8, lr: 1e38, random: new Random(1) });
        },
        (error: Error) => error instanceof DivergenceError && /diverged/.test(error.message) && /kept the weights after step \d+/.test(error.message) && /--lr/.test(error.message),
      );
      const kept = await trainer.evaluate(data);
      assert.ok(Number.isFinite(kept.loss), `the kept weights give a finite loss (${stepsPerCall} steps per call), got ${kept.loss}`);
      await trainer.release();
    }
  });
});

describe('Trainer shuffling', () => {
  /**
   * The order examples were visited in: a linear model with zero weights and
   * lr 0 predicts 0 and never moves, so a batch of one example i, whose
   * target is i + 1, has loss (i + 1)^2.
   */
  async function visitOrder(seed: number, epochs: number, stepsPerCall: number): Promise<number[][]> {
    const count = 24;
    const data = { name: 'indices', count, inputShape: [1], inputs: new Float32Array(count).fill(1), targets: Float32Array.from({ length: count }, (_, i) => i + 1), targetWidth: 1 };
    const model = findModel('func-shallow');
    const zero = new Map(model.parameters.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
    const trainer = await Trainer.create(model, sgd(), zero, { threads: 1, stepsPerCall });
    const visited: number[] = [];
    await trainer.trainEpochs(data, epochs, { batchSize: 1, lr: 0, random: new Random(seed), onStep: (_done, _total, loss) => visited.push(Math.sqrt(loss) - 1) });
    await trainer.release();
    return Array.from({ length: epochs }, (_, epoch) => visited.slice(epoch * count, (epoch + 1) * count));
  }

  it('visits every example once per epoch, in a new seeded order each epoch, the same for the same seed', async () => {
    const orders = await visitOrder(3, 4, 1);
    const identity = Array.from({ length: 24 }, (_, i) => i);
    for (const order of orders) assert.deepEqual([...order].sort((a, b) => a - b), identity, 'a permutation of the examples');
    for (let a = 0; a < orders.length; a++) {
      assert.notDeepEqual(orders[a], identity, `epoch ${a + 1} is shuffled`);
      for (let b = a + 1; b < orders.length; b++) assert.notDeepEqual(orders[a], orders[b], `epochs ${a + 1} and ${b + 1} differ`);
    }
    // The order is the seed's permutation stream: Random(seed).permutation(count) per epoch.
    const random = new Random(3);
    for (const order of orders) assert.deepEqual(order, Array.from(random.permutation(24)));
    assert.deepEqual(await visitOrder(3, 4, 1), orders, 'the same seed, the same orders');
    assert.deepEqual(await visitOrder(3, 4, 5), orders, 'also with several steps per call');
    assert.notDeepEqual(await visitOrder(4, 4, 1), orders, 'another seed, other orders');
  });
});

describe('runTraining', () => {
  it('writes metrics.json, weights, the graph and a chart for a run', async () => {
    const { dir, metrics } = await runTraining({
      model: 'mnist-dnn-small', epochs: 2, batchSize: 100, optimizer: 'sgd', lr: 0.1, momentum: 0.9, seed: 3, ep: 'cpu', threads: 2,
      limitTrain: 1000, limitTest: 500, outDir: scratch, runId: 'small',
    });
    assert.equal(dir, join(scratch, 'runs', 'small'));
    const saved = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
    assert.equal(saved.status, 'completed');
    assert.equal(saved.epochs.length, 2);
    assert.deepEqual(saved.epochs, JSON.parse(JSON.stringify(metrics.epochs)));
    assert.equal(saved.optimizer.config.momentum, 0.9);
    assert.equal(saved.model.parameterCount, 26506);
    for (const e of saved.epochs) {
      for (const key of ['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'seconds'] as const) assert.ok(Number.isFinite(e[key]), key);
    }
    const { tensors } = readSafetensors(join(dir, 'weights.safetensors'));
    assert.deepEqual([...tensors.keys()], ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight', 'fc3.bias']);
    assert.deepEqual(tensors.get('fc1.weight')!.shape, [32, 784]);
    assert.ok(existsSync(join(dir, 'train_step.onnx')));
    assert.deepEqual([...readFileSync(join(dir, 'curves.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });

  it('marks a diverged run and keeps its last good checkpoint', async () => {
    await assert.rejects(
      runTraining({ model: 'func-deep', epochs: 30, batchSize: 50, optimizer: 'sgd', lr: 1e38, seed: 1, ep: 'cpu', threads: 1, outDir: scratch, runId: 'diverged', limitTrain: 100 }),
      DivergenceError,
    );
    const dir = join(scratch, 'runs', 'diverged');
    const saved = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
    assert.equal(saved.status, 'diverged');
    assert.match(saved.message!, /diverged/);
    assert.ok(saved.epochs.every((e) => Number.isFinite(e.testLoss) && Number.isFinite(e.trainLoss)), 'no NaN epoch is recorded');
    // The saved weights must give a finite loss: evaluate them.
    const model = findModel('func-deep');
    const weights = new Map([...readSafetensors(join(dir, 'weights.safetensors')).tensors].map(([name, t]) => [name, t.data]));
    const check = await Trainer.create(model, sgd(), weights, { threads: 1 });
    assert.ok(Number.isFinite((await check.evaluate(sampleFunction('sinc', 100))).loss), 'the checkpoint gives a finite loss');
    await check.release();
  });
});

describe('safetensors checkpoints', () => {
  it('round-trip names, shapes, values and metadata', () => {
    const tensors = new Map([
      ['a.weight', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }],
      ['a.bias', { shape: [2], data: Float64Array.of(-1e-300, 7) }],
    ]);
    const path = join(scratch, 'w.safetensors');
    writeFileSync(path, encodeSafetensors(tensors, { note: 'x' }));
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { note: 'x' });
    assert.deepEqual(back.tensors.get('a.weight'), tensors.get('a.weight'));
    assert.deepEqual(back.tensors.get('a.bias'), tensors.get('a.bias'));
    // The header is followed by 8-byte-aligned data, as the format asks.
    const headerLength = Number(new DataView(readFileSync(path).buffer).getBigUint64(0, true));
    assert.equal((8 + headerLength) % 8, 0);
  });

  it('reject a truncated file naming it', () => {
    const path = join(scratch, 'cut.safetensors');
    writeFileSync(path, encodeSafetensors(new Map([['w', { shape: [4], data: new Float32Array(4) }]])).subarray(0, 30));
    assert.throws(() => readSafetensors(path), (e: Error) => e instanceof DataError && e.message.includes(path));
  });
});

describe('several steps per call (ONNX Loop)', () => {
  const compare = async (modelName: string, data: Parameters<Trainer['trainEpoch']>[0], batchSize: number, dtype: 'float32' | 'float64') => {
    const model = findModel(modelName);
    const trainWith = async (stepsPerCall: number) => {
      const trainer = await Trainer.create(model, adam(), initializeParameters(model, 4, dtype), { threads: 1, dtype, stepsPerCall });
      const random = new Random(4);
      const epochs = [];
      for (let epoch = 0; epoch < 2; epoch++) epochs.push(await trainer.trainEpoch(data, { batchSize, lr: (step) => 1e-3 * (1 + step / 100), random }));
      const weights = trainer.parameters();
      await trainer.release();
      return { weights, epochs, steps: trainer.stepCount };
    };
    const single = await trainWith(1);
    const multi = await trainWith(5);
    assert.equal(multi.steps, single.steps);
    for (const [name, values] of single.weights) assert.deepEqual(multi.weights.get(name), values, `${name} is the same after multi-step training`);
    assert.deepEqual(multi.epochs, single.epochs);
  };

  it('gives the same weights, losses and accuracies as one step per call (classifier, float32, a partial last batch)', async () => {
    await compare('mnist-dnn-small', loadMnist({ limitTrain: 1000 }).train, 64, 'float32');
  });

  it('gives the same weights as one step per call (regression, float64)', async () => {
    await compare('func-deep', sampleFunction('sinc', 200), 30, 'float64');
  });

  it('runs full-batch epochs several per call with the same result as one epoch per call', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 100);
    const single = await Trainer.create(model, adam(), initializeParameters(model, 2), { threads: 1 });
    const random = new Random(2);
    const one = [];
    for (let epoch = 0; epoch < 23; epoch++) one.push(await single.trainEpoch(data, { batchSize: 100, lr: 1e-2, random }));
    const multi = await Trainer.create(model, adam(), initializeParameters(model, 2), { threads: 1, stepsPerCall: 10 });
    const many = await multi.trainEpochs(data, 23, { batchSize: 100, lr: 1e-2, random: new Random(2) });
    assert.deepEqual(many, one);
    for (const [name, values] of single.parameters()) assert.deepEqual(multi.parameters().get(name), values, name);
  });

  it('reports every step\'s loss and gradient norm, the same with several steps per call', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 100);
    const perStep = async (stepsPerCall: number) => {
      const trainer = await Trainer.create(model, adam(), initializeParameters(model, 3), { threads: 1, stepsPerCall });
      const steps: [number, number | undefined][] = [];
      await trainer.trainEpochs(data, 3, { batchSize: 16, lr: 1e-2, random: new Random(3), onStep: (_done, _total, loss, gradNorm) => steps.push([loss, gradNorm]) });
      await trainer.release();
      return steps;
    };
    const one = await perStep(1);
    assert.equal(one.length, 3 * Math.ceil(100 / 16));
    assert.ok(one.every(([loss, gradNorm]) => loss > 0 && gradNorm! > 0));
    assert.deepEqual(await perStep(5), one);
  });

  it('trains to the same weights and losses without recording gradient norms, and reports none', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 100);
    const options = (gradientNorms: boolean) => ({ threads: 1, stepsPerCall: 4, gradientNorms });
    const withNorms = await Trainer.create(model, adam(), initializeParameters(model, 3), options(true));
    const without = await Trainer.create(model, adam(), initializeParameters(model, 3), options(false));
    const a = await withNorms.trainEpochs(data, 3, { batchSize: 16, lr: 1e-2, random: new Random(3) });
    const b = await without.trainEpochs(data, 3, { batchSize: 16, lr: 1e-2, random: new Random(3) });
    assert.deepEqual(
      b.map((epoch) => epoch.loss),
      a.map((epoch) => epoch.loss),
    );
    assert.ok(a.every((epoch) => epoch.gradNorm! > 0) && b.every((epoch) => epoch.gradNorm === undefined));
    for (const [name, values] of withNorms.parameters()) assert.deepEqual(without.parameters().get(name), values, name);
  });

  it('keeps on divergence exactly the weights one step per call keeps, wherever in a call the loss turns non-finite', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 64);
    const diverge = async (lr: number, stepsPerCall: number) => {
      const trainer = await Trainer.create(model, sgd({ momentum: 0.9 }), initializeParameters(model, 1), { threads: 1, stepsPerCall });
      let message = '';
      await assert.rejects(trainer.trainEpochs(data, 50, { batchSize: 8, lr, random: new Random(1) }), (error: Error) => {
        message = error.message;
        return error instanceof DivergenceError;
      });
      const step = Number(/diverged at step (\d+)/.exec(message)![1]);
      const kept = trainer.stepCount;
      const weights = trainer.parameters();
      const { loss } = await trainer.evaluate(data);
      await trainer.release();
      return { step, kept, weights, loss, message };
    };
    const indices = new Set<number>();
    for (const lr of [10, 30, 100]) {
      const one = await diverge(lr, 1);
      assert.equal(one.kept, one.step - 2, `lr ${lr}: the weights after step t - 2 are the newest whose loss was finite`);
      assert.ok(Number.isFinite(one.loss), 'and they give a finite loss on all the data');
      assert.match(one.message, new RegExp(`kept the weights after step ${one.kept} \\(the last whose loss was finite on its batch\\), finite with a finite loss on all 64 sinc examples`));
      for (const stepsPerCall of [2, 3, 4, 5, 8]) {
        const many = await diverge(lr, stepsPerCall);
        indices.add((many.step - 1) % stepsPerCall);
        assert.equal(many.step, one.step);
        assert.equal(many.kept, one.kept, `lr ${lr}, ${stepsPerCall} steps per call`);
        for (const [name, values] of one.weights) assert.deepEqual(many.weights.get(name), values, `lr ${lr}, ${stepsPerCall} steps per call: ${name}`);
        assert.equal(many.message, one.message);
      }
    }
    assert.ok(indices.has(0) && [...indices].some((index) => index >= 2), `the failing step fell at indices ${[...indices]} of a call`);
  });

  it('checks that the weights it keeps give a finite loss on the whole training set, not only on a batch', async () => {
    const model = findModel('func-deep');
    const data = sampleFunction('sinc', 64);
    for (const stepsPerCall of [1, 4]) {
      const trainer = await Trainer.create(model, sgd({ momentum: 0.9 }), initializeParameters(model, 1), { threads: 1, stepsPerCall });
      let message = '';
      // lr 3, seed 1: the weights after step t - 2 give a finite loss on their batch of 8 but Infinity on the 64 points.
      await assert.rejects(
        async () => {
          for (let epoch = 0; epoch < 50; epoch++) await trainer.trainEpochs(data, 1, { batchSize: 8, lr: 3, random: new Random(1) });
        },
        (error: Error) => {
          message = error.message;
          return error instanceof DivergenceError;
        },
      );
      const step = Number(/diverged at step (\d+)/.exec(message)![1]);
      assert.match(message, new RegExp(`after step ${step - 2} the loss on sinc is Infinity`), message);
      assert.match(message, new RegExp(`kept the weights after step ${trainer.stepCount} \\(the end of epoch ${trainer.stepCount / 8}\\)`));
      assert.ok(trainer.stepCount < step - 2);
      assert.ok(Number.isFinite((await trainer.evaluate(data)).loss), 'the kept weights give a finite loss on all the data');
      await trainer.release();
    }
  });
});
