import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixedFormulation, withConvFormulations, type ConvFormulation } from '../../src/autodiff/convFormulations.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { executeRun } from '../../src/experiments/executeRun.ts';
import type { RunSpec } from '../../src/experiments/types.ts';
import { conv2d, dense, flatten, maxPool2d, relu } from '../../src/nn/layers.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { adam } from '../../src/optim/adam.ts';
import { trainStepGraph } from '../../src/programs/programs.ts';
import { convLayerShapes, TUNING_CACHE_FORMAT, tuneConvFormulations, type Candidate } from '../../src/runtime/convTuner.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { Random } from '../../src/util/random.ts';

const cnn = (second: number) =>
  resolveModel(
    sequential('tuning-cnn', { description: 'test', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [
      conv2d(8, 5),
      relu(),
      maxPool2d(2),
      conv2d(second, 3, { padding: 1 }),
      relu(),
      maxPool2d(2),
      flatten(),
      dense(10),
    ]),
  );

const folder = mkdtempSync(join(tmpdir(), 'hw1-tuning-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** A stand-in clock: im2col and ConvTranspose "win" on every shape; counts what was measured. */
function fakeMeasure() {
  const measured: Candidate[] = [];
  const measure = async (candidate: Candidate) => {
    measured.push(candidate);
    return candidate.formulation === 'im2col-gemm' || candidate.formulation === 'conv-transpose' ? 1 : 2;
  };
  return { measured, measure };
}

describe('convolution tuner', () => {
  it('finds each distinct Conv layer shape of a model from its declaration', () => {
    const shapes = convLayerShapes(cnn(16));
    assert.deepEqual(
      shapes.map((s) => [s.inChannels, s.outChannels, s.height, s.width, s.kernel, s.pads]),
      [
        [1, 8, 28, 28, [5, 5], [0, 0, 0, 0]],
        [8, 16, 12, 12, [3, 3], [1, 1, 1, 1]],
      ],
    );
  });

  it('takes the fastest measured formulation, caches it by machine and shape, and measures a changed CPU or shape anew', async () => {
    const cacheFile = join(folder, 'cache.json');
    const first = fakeMeasure();
    const tuned = await tuneConvFormulations(cnn(16), { batchSize: 32, cacheFile, machine: 'CPU A', measure: first.measure });
    // Two shapes, each with two weight- and three input-gradient candidates (both stride 1, float32).
    assert.equal(first.measured.length, 10);
    assert.deepEqual(tuned.choices.map((c) => [c.choice.weightGradient, c.choice.inputGradient, c.source]), [
      ['im2col-gemm', 'conv-transpose', 'measured'],
      ['im2col-gemm', 'conv-transpose', 'measured'],
    ]);
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    assert.equal(cache.format, TUNING_CACHE_FORMAT);
    assert.equal(Object.keys(cache.entries).length, 2);

    const again = fakeMeasure();
    const reused = await tuneConvFormulations(cnn(16), { batchSize: 32, cacheFile, machine: 'CPU A', measure: again.measure });
    assert.equal(again.measured.length, 0, 'a cached choice is not measured again');
    assert.deepEqual(reused.choices.map((c) => c.source), ['cache', 'cache']);

    const otherCpu = fakeMeasure();
    await tuneConvFormulations(cnn(16), { batchSize: 32, cacheFile, machine: 'CPU B', measure: otherCpu.measure });
    assert.equal(otherCpu.measured.length, 10, 'another CPU measures every shape');

    const otherShape = fakeMeasure();
    await tuneConvFormulations(cnn(24), { batchSize: 32, cacheFile, machine: 'CPU A', measure: otherShape.measure });
    assert.deepEqual([...new Set(otherShape.measured.map((c) => c.shape.outChannels))], [24], 'only the changed layer is measured');

    // The chooser answers from the measurements, and falls back to the fixed choice for shapes it never saw.
    const conv1 = convLayerShapes(cnn(16))[0]!;
    assert.equal(tuned.chooser(conv1).weightGradient, 'im2col-gemm');
    assert.equal(fixedFormulation(conv1).weightGradient, 'swapped-conv');
    assert.deepEqual(tuned.chooser({ ...conv1, height: 99 }), fixedFormulation({ ...conv1, height: 99 }));
  });

  it('times real candidates on onnxruntime', async () => {
    const tuned = await tuneConvFormulations(cnn(16), { batchSize: 4, cacheFile: join(folder, 'real.json'), threads: 1, repeats: 2 });
    const cache = JSON.parse(readFileSync(join(folder, 'real.json'), 'utf8'));
    for (const entry of Object.values(cache.entries) as Array<{ milliseconds: Record<string, number> }>) {
      assert.deepEqual(Object.keys(entry.milliseconds).sort(), ['input:conv-transpose', 'input:flipped-conv', 'input:matmul-col2im', 'weight:im2col-gemm', 'weight:swapped-conv']);
      for (const ms of Object.values(entry.milliseconds)) assert.ok(ms > 0 && ms < 10_000, `${ms} ms`);
    }
    assert.equal(tuned.choices.length, 2);
  });

  it('with tuning off the graphs are the same bytes on every build, with the fixed choice recorded per layer', () => {
    const model = cnn(16);
    const build = () => withConvFormulations(fixedFormulation, () => serializeGraph(trainStepGraph(model, adam())));
    const [one, two] = [build(), build()];
    assert.deepEqual(one.result, two.result);
    const forward = one.formulations.filter((f) => f.layers.some((name) => name.startsWith('forward/')));
    assert.deepEqual(
      forward.map((f) => [f.layers.filter((name) => name.startsWith('forward/')), f.weightGradient, f.inputGradient]),
      [
        [['forward/conv2/Conv'], 'im2col-gemm', 'conv-transpose'],
        [['forward/conv1/Conv'], 'swapped-conv', 'conv-transpose'],
      ],
    );
  });

  it('a run measures when asked (cache in $HW1_CACHE_DIR) and records each layer\'s formulation and whether it was tuned', async () => {
    const spec: RunSpec = {
      key: 'tuned',
      label: 'tuned',
      group: 'mnist',
      model: sequential('tuned-run-cnn', { description: 'test', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [conv2d(8, 5), relu(), maxPool2d(2), conv2d(8, 5), relu(), flatten(), dense(10)]),
      data: { limitTrain: 64, limitTest: 32 },
      training: { epochs: 1, batchSize: 16, optimizer: 'adam', lr: 1e-3, evalEvery: 1 },
      seed: 1,
    };
    const previous = process.env.HW1_CACHE_DIR;
    process.env.HW1_CACHE_DIR = join(folder, 'run-cache');
    try {
      const options = { experiment: 'tuning', profile: 'quick' as const, outDir: join(folder, 'out'), ep: 'cpu' as const, threads: 1 };
      const tuned = await executeRun(spec, { ...options, tune: true });
      assert.equal(tuned.convolutions!.tuned, true);
      assert.ok(existsSync(join(folder, 'run-cache', 'conv-tuning.json')), 'the choice is cached where HW1_CACHE_DIR says');
      const fixed = await executeRun(spec, options);
      assert.equal(fixed.convolutions!.tuned, false);
      for (const result of [tuned, fixed]) {
        assert.deepEqual(result.convolutions!.formulations.flatMap((f) => f.layers.filter((name) => name.startsWith('forward/'))).sort(), ['forward/conv1/Conv', 'forward/conv2/Conv']);
      }
    } finally {
      if (previous === undefined) delete process.env.HW1_CACHE_DIR;
      else process.env.HW1_CACHE_DIR = previous;
    }
  });

  it('every formulation trains to the same weights to float tolerance', async () => {
    const model = cnn(16);
    const data = loadMnist({ limitTrain: 256, limitTest: 0 }).train;
    const trained = async (formulation: ConvFormulation) => {
      // Four steps in one call of the Loop graph: a Col2Im in a Loop body makes the whole model opset 18.
      const trainer = await Trainer.create(model, adam(), initializeParameters(model, 3), { threads: 1, stepsPerCall: 4, convFormulations: () => formulation });
      assert.ok(trainer.convolutions!.formulations.every((f) => f.weightGradient === formulation.weightGradient && f.inputGradient === formulation.inputGradient));
      await trainer.trainEpoch(data, { batchSize: 64, lr: 1e-3, random: new Random(3) });
      const weights = trainer.parameters();
      await trainer.release();
      return weights;
    };
    const reference = await trained({ weightGradient: 'swapped-conv', inputGradient: 'conv-transpose' });
    for (const formulation of [
      { weightGradient: 'im2col-gemm', inputGradient: 'conv-transpose' },
      { weightGradient: 'im2col-gemm', inputGradient: 'flipped-conv' },
      { weightGradient: 'im2col-gemm', inputGradient: 'matmul-col2im' },
      { weightGradient: 'swapped-conv', inputGradient: 'matmul-col2im' },
    ] as ConvFormulation[]) {
      const weights = await trained(formulation);
      for (const [name, values] of reference) {
        const other = weights.get(name)!;
        let difference = 0;
        let scale = 0;
        values.forEach((v, i) => {
          difference = Math.max(difference, Math.abs(v - other[i]!));
          scale = Math.max(scale, Math.abs(v));
        });
        // Four Adam steps: float32 rounding differences stay far below the size of one update (1e-3).
        assert.ok(difference / scale < 1e-4, `${name} by ${formulation.weightGradient}/${formulation.inputGradient}: ${difference / scale}`);
      }
    }
  });
});
