/**
 * Executes one planned run: the model's train_step graph over the epochs,
 * test evaluations, and (for function fits) the trained model's predictions.
 * Its weights go beside its result file (<key>/weights.safetensors, and the
 * snapshots the spec asks for), written before the result file itself, so a
 * result on disk always has its weights.
 */
import * as ort from 'onnxruntime-node';
import { dataForModel } from '../data/forModel.ts';
import { initializeParameters } from '../nn/init.ts';
import { resolveModel, type Model } from '../nn/model.ts';
import type { ParameterValues } from '../nn/init.ts';
import { serializeGraph } from '../onnx/writer.ts';
import { optimizerByName } from '../optim/index.ts';
import { forwardGraph } from '../programs/programs.ts';
import type { ExecutionProviderName } from '../runtime/providers.ts';
import { writeModelWeights } from '../runtime/checkpoint.ts';
import { createSession } from '../runtime/session.ts';
import { defaultStepsPerCall, Trainer } from '../runtime/trainer.ts';
import { DivergenceError } from '../util/errors.ts';
import { Random } from '../util/random.ts';
import { TARGET_FUNCTIONS } from '../data/functions.ts';
import { VERSION } from '../version.ts';
import { specHash } from './specHash.ts';
import { runFiles } from './store.ts';
import type { EpochRecord, Profile, RunResult, RunSpec, SnapshotRecord } from './types.ts';

export interface ExecuteOptions {
  experiment: string;
  profile: Profile;
  /** The output folder; weights are written under its run folder. */
  outDir: string;
  /** Where CIFAR-10 is (`run --data-dir`), for runs whose spec names no folder. */
  dataDir?: string;
  ep: ExecutionProviderName;
  threads?: number;
  /** Measure each convolution's gradient formulations on this machine (convTuner.ts) instead of the fixed choice. */
  tune?: boolean;
  /** Called after every epoch (progress bars). */
  onEpoch?: (epoch: number, total: number) => void;
}

export async function executeRun(spec: RunSpec, options: ExecuteOptions): Promise<RunResult> {
  const started = performance.now();
  const model = resolveModel(spec.model);
  const data = dataForModel(model, { ...spec.data, dataDir: spec.data.dataDir ?? (model.dataset === 'cifar10' ? options.dataDir : undefined) });
  const optimizer = optimizerByName(spec.training.optimizer, spec.training.optimizerOptions);
  const batchSize = spec.training.batchSize === 'full-batch' ? data.train.count : spec.training.batchSize;
  const seed = spec.runSeed ?? spec.seed;
  const trainer = await Trainer.create(model, optimizer, initializeParameters(model, seed, spec.training.dtype ?? 'float32'), {
    ep: options.ep,
    threads: options.threads,
    stepsPerCall: defaultStepsPerCall(model, batchSize),
    dtype: spec.training.dtype,
    tuneBatchSize: options.tune ? batchSize : undefined,
  });
  const random = new Random(seed);
  const epochs: EpochRecord[] = [];
  let status: RunResult['status'] = 'completed';
  let message: string | undefined;
  let stoppedEarly: RunResult['stoppedEarly'];
  const files = runFiles(options.outDir, options.experiment, options.profile, spec);
  const snapshotEvery = spec.record?.snapshotEvery;
  const snapshots: SnapshotRecord[] = [];
  // `test`: the evaluation just made of these weights, where the epoch had one.
  const snapshot = async (epoch: number, test?: { loss: number; accuracy?: number }) => {
    const train = await trainer.evaluate(data.train);
    test ??= await trainer.evaluate(data.test);
    const path = files.snapshot(epoch);
    writeModelWeights(files.absolute(path), model, trainer.parameters(), { epoch: String(epoch), seed: String(seed) });
    snapshots.push({ epoch, path, trainLoss: train.loss, trainAccuracy: train.accuracy, testLoss: test.loss, testAccuracy: test.accuracy });
  };
  const steps = spec.record?.steps ? { loss: [] as number[], gradNorm: [] as number[] } : undefined;
  try {
    if (snapshotEvery) await snapshot(0);
    // Epochs run in spans that end where the test set is evaluated or weights
    // are collected, so a small network's steps can go many per call (Trainer.trainEpochs).
    const stepsPerEpoch = Math.ceil(data.train.count / batchSize);
    const nextMultiple = (epoch: number, every: number) => Math.ceil(epoch / every) * every;
    for (let epoch = 1; epoch <= spec.training.epochs; ) {
      const spanEnd = Math.min(
        spec.training.epochs,
        nextMultiple(epoch, spec.training.evalEvery),
        snapshotEvery ? nextMultiple(epoch, snapshotEvery) : Number.POSITIVE_INFINITY,
      );
      const spanStart = performance.now();
      const train = await trainer.trainEpochs(data.train, spanEnd - epoch + 1, {
        batchSize,
        // The schedule is per epoch; steps are numbered from 1 over the whole run.
        lr: (step) => learningRate(spec, Math.floor((step - 1) / stepsPerEpoch) + 1),
        random,
        onStep: steps
          ? (_done, _total, loss, gradNorm) => {
              steps.loss.push(loss);
              steps.gradNorm.push(gradNorm!);
            }
          : undefined,
      });
      const seconds = (performance.now() - spanStart) / 1000 / train.length;
      for (const result of train) {
        epochs.push({ epoch, trainLoss: result.loss, trainAccuracy: result.accuracy, seconds });
        options.onEpoch?.(epoch, spec.training.epochs);
        epoch++;
      }
      const last = epoch - 1;
      let test: { loss: number; accuracy?: number } | undefined;
      if (last % spec.training.evalEvery === 0 || last === spec.training.epochs) {
        test = await trainer.evaluateOrRollBack(data.test);
        epochs.at(-1)!.testLoss = test.loss;
        epochs.at(-1)!.testAccuracy = test.accuracy;
      }
      const reached = test !== undefined && spec.training.stopAtTrainAccuracy !== undefined && (epochs.at(-1)!.trainAccuracy ?? 0) >= spec.training.stopAtTrainAccuracy;
      if (snapshotEvery && (last % snapshotEvery === 0 || last === spec.training.epochs || reached)) await snapshot(last, test);
      if (reached) {
        stoppedEarly = { epoch: last, reason: `training accuracy ${epochs.at(-1)!.trainAccuracy!.toFixed(4)} reached ${spec.training.stopAtTrainAccuracy}` };
        break;
      }
    }
  } catch (error) {
    if (!(error instanceof DivergenceError)) {
      await trainer.release();
      throw error;
    }
    status = 'diverged';
    message = error.message;
  }
  const weights = trainer.parameters();
  writeModelWeights(files.absolute(files.weights), model, weights, { seed: String(seed), status });
  const last = epochs.at(-1);
  // A completed run was just evaluated after its last epoch; a diverged one rolled back, so measure what it kept.
  let finalTest: { loss: number; accuracy?: number };
  let finalTrain: { loss: number; accuracy?: number } | undefined;
  try {
    finalTest = status === 'completed' ? { loss: last!.testLoss!, accuracy: last!.testAccuracy } : await trainer.evaluate(data.test);
    if (spec.record?.evaluateTrain) finalTrain = await trainer.evaluate(data.train);
  } finally {
    await trainer.release();
  }
  const result: RunResult = {
    format: 'hw1-onnx/run@2',
    experiment: options.experiment,
    key: spec.key,
    label: spec.label,
    group: spec.group,
    profile: options.profile,
    seed: spec.seed,
    ...(spec.runSeed !== undefined ? { runSeed: spec.runSeed } : {}),
    specHash: specHash(spec),
    model: {
      name: model.name,
      description: model.description,
      task: model.task,
      parameterCount: model.parameterCount,
      layers: model.layers.map((layer) => ({
        name: layer.name,
        type: layer.type,
        outputShape: [...layer.outputShape],
        parameters: layer.parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
      })),
    },
    data: { source: data.source, train: data.train.count, test: data.test.count },
    training: { ...spec.training, resolvedBatchSize: batchSize, optimizerConfig: { ...optimizer.config } },
    epochs,
    final: {
      trainLoss: last?.trainLoss ?? Number.NaN,
      trainAccuracy: last?.trainAccuracy,
      testLoss: finalTest.loss,
      testAccuracy: finalTest.accuracy,
      ...(finalTrain ? { evaluatedTrainLoss: finalTrain.loss, evaluatedTrainAccuracy: finalTrain.accuracy } : {}),
    },
    weights: files.weights,
    ...(snapshots.length ? { snapshots } : {}),
    ...(steps ? { steps } : {}),
    seconds: 0,
    status,
    message,
    ...(stoppedEarly ? { stoppedEarly } : {}),
    ...(trainer.convolutions ? { convolutions: trainer.convolutions } : {}),
    software: { node: process.version, onnxruntime: ort.env.versions.common, hw1onnx: VERSION },
    finishedAt: new Date().toISOString(),
  };
  if (spec.predictionPoints) result.predictions = await predictFunction(model, weights, spec.predictionPoints, options);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** The step schedule: lr times factor^(number of drop epochs already passed). */
export function learningRate(spec: RunSpec, epoch: number): number {
  const drops = spec.training.lrDrops;
  if (!drops) return spec.training.lr;
  const passed = drops.epochs.filter((dropEpoch) => epoch > dropEpoch).length;
  return spec.training.lr * drops.factor ** passed;
}

/** The trained model on an even grid of (0, 1], beside the target function. */
async function predictFunction(model: Model, weights: ParameterValues, points: number, options: ExecuteOptions) {
  const name = model.dataset.replace(/^function:/, '');
  const target = TARGET_FUNCTIONS[name]!;
  const x = Float32Array.from({ length: points }, (_, i) => (i + 1) / points);
  const session = await createSession(serializeGraph(forwardGraph(model)), { ep: options.ep, threads: options.threads });
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', x, [points, 1]) };
  for (const parameter of model.parameters) feeds[parameter.name] = new ort.Tensor('float32', Float32Array.from(weights.get(parameter.name)!), [...parameter.shape]);
  const y = (await session.run(feeds).finally(() => session.release())).y!.data as Float32Array;
  return { x: Array.from(x), y: Array.from(y), target: Array.from(x, (v) => target.f(v)) };
}
