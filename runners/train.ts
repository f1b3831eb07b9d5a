/**
 * One training run, as `hw1-onnx train` does it: data, initial weights, the
 * train_step and eval graphs, epochs with a test evaluation after each, and
 * out/runs/<run-id>/ with metrics.json, weights, the graph used and a chart.
 * metrics.json and the checkpoint are rewritten atomically after every epoch,
 * so an interrupted or diverged run keeps what it had.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeChart } from '../src/charts/lineChart.ts';
import { dataForModel } from '../src/data/forModel.ts';
import { initializeParameters, type ParameterValues } from '../src/nn/init.ts';
import { findModel } from '../src/nn/registry.ts';
import { modelSummary } from '../src/nn/summary.ts';
import type { Model } from '../src/nn/model.ts';
import { optimizerByName } from '../src/optim/index.ts';
import { writeModelWeights } from '../src/runtime/checkpoint.ts';
import { silentProgress, type Progress } from '../src/runtime/progress.ts';
import type { ExecutionProviderName } from '../src/runtime/providers.ts';
import { defaultStepsPerCall, Trainer } from '../src/runtime/trainer.ts';
import type { ConvolutionsRecord } from '../src/autodiff/convFormulations.ts';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomicWrite.ts';
import { DivergenceError, INTERRUPTED_EXIT_CODE, InterruptedError, UserError } from '../src/util/errors.ts';
import { existsSync } from 'node:fs';
import { Random } from '../src/util/random.ts';
import { VERSION } from '../src/version.ts';

export interface TrainConfig {
  model: string;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr: number;
  momentum?: number;
  weightDecay?: number;
  seed: number;
  ep: ExecutionProviderName;
  threads?: number;
  /** Optimizer steps per onnxruntime call; default: defaultStepsPerCall (up to 64, fewer when batches are large). */
  stepsPerCall?: number;
  dataDir?: string;
  limitTrain?: number;
  limitTest?: number;
  outDir: string;
  runId?: string;
  /** Replace an existing run folder of the same id. */
  force?: boolean;
  /** Measure each convolution's gradient formulations on this machine (convTuner.ts) instead of the fixed choice. */
  tune?: boolean;
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss: number;
  testAccuracy?: number;
  gradNorm?: number;
  seconds: number;
}

export interface RunMetrics {
  runId: string;
  status: 'running' | 'completed' | 'diverged' | 'interrupted';
  message?: string;
  config: TrainConfig;
  model: { name: string; description: string; task: string; parameterCount: number };
  data: { source: string; train: number; test: number };
  optimizer: { name: string; config: Record<string, number | boolean> };
  software: { node: string; onnxruntime: string; hw1onnx: string };
  /** For models with convolutions: each layer shape's gradient formulation, and whether it was measured here. */
  convolutions?: ConvolutionsRecord;
  epochs: EpochMetrics[];
  totalSeconds: number;
}

export function defaultRunId(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${config.model}-${config.optimizer}-seed${config.seed}-${stamp}`;
}

export async function runTraining(config: TrainConfig, progress: Progress = silentProgress()): Promise<{ dir: string; metrics: RunMetrics }> {
  const model = findModel(config.model);
  const optimizer = optimizerByName(config.optimizer, { momentum: config.momentum, weight_decay: config.weightDecay });
  const data = dataForModel(model, config);
  const runId = config.runId ?? defaultRunId(config);
  const dir = join(config.outDir, 'runs', runId);
  if (existsSync(join(dir, 'metrics.json')) && !config.force) {
    throw new UserError(`run folder ${dir} exists already; choose another --run-id, or pass --force to replace it`);
  }

  const trainer = await Trainer.create(model, optimizer, initializeParameters(model, config.seed), {
    ep: config.ep,
    threads: config.threads,
    stepsPerCall: config.stepsPerCall ?? defaultStepsPerCall(model, config.batchSize),
    tuneBatchSize: config.tune ? config.batchSize : undefined,
  });
  writeFileAtomic(join(dir, 'train_step.onnx'), trainer.trainStepModel);
  const metrics: RunMetrics = {
    runId,
    status: 'running',
    config,
    model: { name: model.name, description: model.description, task: model.task, parameterCount: model.parameterCount },
    data: { source: data.source, train: data.train.count, test: data.test.count },
    optimizer: { name: optimizer.name, config: { ...optimizer.config } },
    software: { node: process.version, onnxruntime: ort.env.versions.common, hw1onnx: VERSION },
    ...(trainer.convolutions ? { convolutions: trainer.convolutions } : {}),
    epochs: [],
    totalSeconds: 0,
  };
  progress.log(modelSummary(model));
  for (const f of trainer.convolutions?.formulations ?? []) {
    const layers = f.layers.filter((name) => name.startsWith('forward/')).map((name) => name.split('/')[1]);
    if (layers.length) progress.log(`${layers.join(', ')}: weight gradient by ${f.weightGradient}, input gradient by ${f.inputGradient} (${trainer.convolutions!.tuned ? 'timed on this machine' : 'fixed choice, --no-tune'})`);
  }
  progress.log(`run ${runId}: ${model.name} (${model.parameterCount.toLocaleString('en-US')} parameters), ${data.train.count} training examples, ${optimizer.name} lr ${config.lr}, batch ${config.batchSize}, ep ${config.ep}`);

  const random = new Random(config.seed);
  const started = performance.now();
  // Ctrl-C or SIGTERM stops at the next step; the finished epochs stay (a second signal ends at once).
  const stop = interruptSignal();
  let kept = trainer.parameters();
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const epochStart = performance.now();
      progress.start(`epoch ${epoch}/${config.epochs}`, Math.ceil(data.train.count / config.batchSize));
      let train;
      try {
        train = await trainer.trainEpoch(data.train, {
          batchSize: config.batchSize,
          lr: config.lr,
          random,
          onStep: (done, _total, loss) => {
            if (stop.signal) throw new InterruptedError(`${stop.signal} during epoch ${epoch}/${config.epochs}`);
            if (done % 10 === 0) progress.update(done, `loss ${loss.toFixed(4)}`);
          },
        });
      } finally {
        progress.stop();
      }
      const test = await trainer.evaluateOrRollBack(data.test);
      const seconds = (performance.now() - epochStart) / 1000;
      metrics.epochs.push({
        epoch,
        trainLoss: train.loss,
        trainAccuracy: train.accuracy,
        testLoss: test.loss,
        testAccuracy: test.accuracy,
        gradNorm: train.gradNorm,
        seconds,
      });
      metrics.totalSeconds = (performance.now() - started) / 1000;
      progress.log(formatEpoch(metrics.epochs.at(-1)!, config.epochs));
      kept = trainer.parameters();
      saveRun(dir, model, kept, metrics);
      if (stop.signal) throw new InterruptedError(`${stop.signal} after epoch ${epoch}/${config.epochs}`);
    }
    metrics.status = 'completed';
  } catch (error) {
    if (error instanceof InterruptedError) {
      // The weights of the last finished epoch (or the initial ones), never those of a half epoch.
      metrics.status = 'interrupted';
      metrics.totalSeconds = (performance.now() - started) / 1000;
      const finished = metrics.epochs.length;
      metrics.message = `${error.message}: kept ${finished} finished epoch${finished === 1 ? '' : 's'} and ${finished ? 'their' : 'the initial'} weights`;
      saveRun(dir, model, kept, metrics);
      if (finished > 0) await writeCurves(join(dir, 'curves.png'), metrics);
      throw new InterruptedError(`interrupted (${metrics.message}) in ${dir}/ with status "interrupted"; to train again, rerun the command with --force (or another --run-id)`);
    }
    if (!(error instanceof DivergenceError)) throw error;
    metrics.status = 'diverged';
    metrics.message = error.message;
    saveRun(dir, model, trainer.parameters(), metrics);
    throw error;
  } finally {
    stop.release();
    await trainer.release();
  }
  metrics.totalSeconds = (performance.now() - started) / 1000;
  saveRun(dir, model, trainer.parameters(), metrics);
  await writeCurves(join(dir, 'curves.png'), metrics);
  return { dir, metrics };
}

/** Notes SIGINT and SIGTERM instead of dying at once; a second one exits straight away. */
function interruptSignal(): { readonly signal: string | undefined; release(): void } {
  const state = { signal: undefined as string | undefined };
  const handler = (signal: NodeJS.Signals) => {
    if (state.signal) process.exit(INTERRUPTED_EXIT_CODE);
    state.signal = signal;
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return state.signal;
    },
    release() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function formatEpoch(e: EpochMetrics, total: number): string {
  const accuracy = (value?: number) => (value === undefined ? '' : ` acc ${(100 * value).toFixed(2)}%`);
  return `epoch ${e.epoch}/${total}: train loss ${e.trainLoss.toFixed(4)}${accuracy(e.trainAccuracy)} | test loss ${e.testLoss.toFixed(4)}${accuracy(e.testAccuracy)} | ${e.seconds.toFixed(2)} s`;
}

function saveRun(dir: string, model: Model, weights: ParameterValues, metrics: RunMetrics): void {
  writeModelWeights(join(dir, 'weights.safetensors'), model, weights, { run: metrics.runId, epochs: String(metrics.epochs.length) });
  writeJsonAtomic(join(dir, 'metrics.json'), metrics);
}

async function writeCurves(path: string, metrics: RunMetrics): Promise<void> {
  const epochs = metrics.epochs;
  const series: Parameters<typeof writeChart>[1]['series'] = [
    { label: 'train loss', colorKey: 'train', points: epochs.map((e) => ({ x: e.epoch, y: e.trainLoss })) },
    { label: 'test loss', colorKey: 'test', points: epochs.map((e) => ({ x: e.epoch, y: e.testLoss })) },
  ];
  if (epochs[0]?.trainAccuracy !== undefined) {
    series.push(
      { label: 'train accuracy', colorKey: 'train', dashed: true, axis: 'right', points: epochs.map((e) => ({ x: e.epoch, y: 100 * e.trainAccuracy! })) },
      { label: 'test accuracy', colorKey: 'test', dashed: true, axis: 'right', points: epochs.map((e) => ({ x: e.epoch, y: 100 * e.testAccuracy! })) },
    );
  }
  await writeChart(path, {
    title: `${metrics.model.name}: ${epochs[0]?.trainAccuracy !== undefined ? 'loss and accuracy' : 'loss'} per epoch (${metrics.optimizer.name}, lr ${metrics.config.lr}, batch ${metrics.config.batchSize})`,
    xLabel: 'epoch',
    integerX: true,
    yLabel: metrics.model.task === 'classification' ? 'cross-entropy loss' : 'mean squared error',
    y2Label: 'accuracy (%)',
    logY: true,
    series,
  });
}
