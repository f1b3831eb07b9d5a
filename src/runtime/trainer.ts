/**
 * Runs a model's train_step and eval graphs on onnxruntime. Parameters and
 * optimizer state live as runtime tensors between steps (the outputs of one
 * step are the inputs of the next); batches are gathered into reused buffers.
 */
import type * as ort from 'onnxruntime-node';
import { floatArray, type FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import type { ParameterValues } from '../nn/init.ts';
import { serializeGraph } from '../onnx/writer.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import { evalGraph, nextName, stateInputName, trainStepGraph } from '../programs/programs.ts';
import { gatherBatch, inputSize, type Dataset } from '../data/dataset.ts';
import { DivergenceError, UserError } from '../util/errors.ts';
import type { Random } from '../util/random.ts';
import { createSession, type RuntimeOptions } from './session.ts';
import { scalarOf, scalarTensor, tensorOf } from './tensors.ts';

export interface EpochResult {
  loss: number;
  /** Fraction correct, for classifiers. */
  accuracy?: number;
  /** Mean over the epoch's steps of the loss gradient's 2-norm. */
  gradNorm: number;
  steps: number;
}

export interface EvaluationResult {
  loss: number;
  accuracy?: number;
}

export interface TrainerOptions extends RuntimeOptions {
  dtype?: FloatType;
}

export class Trainer {
  /** Optimizer steps taken so far; the next step is number stepCount + 1. */
  stepCount = 0;
  readonly trainStepModel: Uint8Array;

  private constructor(
    readonly model: Model,
    readonly optimizer: Optimizer,
    readonly dtype: FloatType,
    private readonly trainSession: ort.InferenceSession,
    private readonly evalSession: ort.InferenceSession,
    private parameterTensors: Map<string, ort.Tensor>,
    private stateTensors: Map<string, ort.Tensor>,
    trainStepModel: Uint8Array,
  ) {
    this.trainStepModel = trainStepModel;
  }

  static async create(model: Model, optimizer: Optimizer, initial: ParameterValues, options: TrainerOptions = {}): Promise<Trainer> {
    const dtype = options.dtype ?? 'float32';
    const trainStepModel = serializeGraph(trainStepGraph(model, optimizer, dtype));
    const trainSession = await createSession(trainStepModel, options);
    const evalSession = await createSession(serializeGraph(evalGraph(model, dtype)), options);
    const parameters = new Map<string, ort.Tensor>();
    const states = new Map<string, ort.Tensor>();
    for (const spec of model.parameters) {
      const values = initial.get(spec.name);
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (!values || values.length !== size) {
        throw new UserError(`initial weights for ${model.name}: ${spec.name} is ${values ? `of size ${values.length}` : 'missing'}, expected [${spec.shape}]`);
      }
      const copy = floatArray(dtype, size);
      copy.set(values);
      parameters.set(spec.name, tensorOf(dtype, copy, spec.shape));
      for (const slot of optimizer.stateSlots) {
        const start = floatArray(dtype, size).fill(optimizer.initialState?.[slot] ?? 0);
        states.set(stateInputName(spec.name, slot), tensorOf(dtype, start, spec.shape));
      }
    }
    return new Trainer(model, optimizer, dtype, trainSession, evalSession, parameters, states, trainStepModel);
  }

  /** A copy of the current parameters. */
  parameters(): ParameterValues {
    return new Map([...this.parameterTensors].map(([name, tensor]) => [name, (tensor.data as FloatArray).slice()]));
  }

  /**
   * One pass over the data in a seeded random order (the last batch may be
   * smaller, as PyTorch's DataLoader without drop_last). A NaN or Inf loss
   * stops training with a DivergenceError; the trainer then holds the last
   * finite weights.
   */
  async trainEpoch(
    dataset: Dataset,
    options: { batchSize: number; lr: number | ((step: number) => number); random: Random; onStep?: (done: number, total: number, loss: number) => void },
  ): Promise<EpochResult> {
    const { batchSize } = options;
    const order = options.random.permutation(dataset.count);
    const buffers = this.batchBuffers(dataset, batchSize);
    const steps = Math.ceil(dataset.count / batchSize);
    let lossSum = 0;
    let correct = 0;
    let gradNormSum = 0;
    for (let s = 0; s < steps; s++) {
      const start = s * batchSize;
      const end = Math.min(dataset.count, start + batchSize);
      const rows = end - start;
      const { x, target } = rows === batchSize ? buffers : this.batchBuffers(dataset, rows);
      gatherBatch(dataset, order, start, end, x, target);
      const step = this.stepCount + 1;
      const lr = typeof options.lr === 'function' ? options.lr(step) : options.lr;
      const feeds: Record<string, ort.Tensor> = {
        x: tensorOf(this.dtype, x, [rows, ...dataset.inputShape]),
        target: this.targetTensor(target, rows, dataset),
        lr: scalarTensor(this.dtype, lr),
        step: scalarTensor('int64', step),
      };
      for (const [name, tensor] of this.parameterTensors) feeds[name] = tensor;
      for (const [name, tensor] of this.stateTensors) feeds[name] = tensor;
      const outputs = await this.trainSession.run(feeds);
      const loss = scalarOf(outputs.loss!);
      const gradNorm = scalarOf(outputs.grad_norm!);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new DivergenceError(
          `training diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); the last finite weights were kept; lower the learning rate (--lr)`,
        );
      }
      // Only now do the updated tensors replace the current ones: the weights held are always finite-loss weights.
      for (const name of this.parameterTensors.keys()) this.parameterTensors.set(name, outputs[nextName(name)]!);
      for (const name of this.stateTensors.keys()) this.stateTensors.set(name, outputs[nextName(name)]!);
      this.stepCount = step;
      lossSum += loss * rows;
      gradNormSum += gradNorm;
      if (outputs.correct) correct += scalarOf(outputs.correct);
      options.onStep?.(s + 1, steps, loss);
    }
    if (!this.parametersAreFinite()) {
      throw new DivergenceError('training diverged: the last update made a weight NaN or Inf; lower the learning rate (--lr)');
    }
    return {
      loss: lossSum / dataset.count,
      accuracy: dataset.labels ? correct / dataset.count : undefined,
      gradNorm: gradNormSum / steps,
      steps,
    };
  }

  /** Mean loss (and accuracy) over a whole data set, in chunks. */
  async evaluate(dataset: Dataset, chunkSize = 1000): Promise<EvaluationResult> {
    const order = Uint32Array.from({ length: dataset.count }, (_, i) => i);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < dataset.count; start += chunkSize) {
      const end = Math.min(dataset.count, start + chunkSize);
      const rows = end - start;
      const { x, target } = this.batchBuffers(dataset, rows);
      gatherBatch(dataset, order, start, end, x, target);
      const feeds: Record<string, ort.Tensor> = {
        x: tensorOf(this.dtype, x, [rows, ...dataset.inputShape]),
        target: this.targetTensor(target, rows, dataset),
      };
      for (const [name, tensor] of this.parameterTensors) feeds[name] = tensor;
      const outputs = await this.evalSession.run(feeds);
      lossSum += scalarOf(outputs.loss_sum!);
      if (outputs.correct) correct += scalarOf(outputs.correct);
    }
    const elements = dataset.count * (dataset.labels ? 1 : (dataset.targetWidth ?? 1));
    return { loss: lossSum / elements, accuracy: dataset.labels ? correct / dataset.count : undefined };
  }

  async release(): Promise<void> {
    await this.trainSession.release();
    await this.evalSession.release();
  }

  private parametersAreFinite(): boolean {
    return [...this.parameterTensors.values()].every((tensor) => (tensor.data as FloatArray).every(Number.isFinite));
  }

  private batchBuffers(dataset: Dataset, rows: number) {
    const x = floatArray(this.dtype, rows * inputSize(dataset));
    const target = dataset.labels ? new BigInt64Array(rows) : floatArray(this.dtype, rows * (dataset.targetWidth ?? 1));
    return { x, target };
  }

  private targetTensor(target: BigInt64Array | FloatArray, rows: number, dataset: Dataset): ort.Tensor {
    return dataset.labels ? tensorOf('int64', target, [rows]) : tensorOf(this.dtype, target, [rows, dataset.targetWidth ?? 1]);
  }
}
