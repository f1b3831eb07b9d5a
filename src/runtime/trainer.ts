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
import { multiStepTrainGraph } from '../programs/multiStep.ts';
import { evalGraph, nextName, stateInputName, trainStepGraph } from '../programs/programs.ts';
import { contiguousRows, gatherBatch, inputSize, type Dataset } from '../data/dataset.ts';
import { DivergenceError, UserError } from '../util/errors.ts';
import type { Random } from '../util/random.ts';
import { createSession, type RuntimeOptions } from './session.ts';
import { scalarOf, scalarTensor, tensorOf } from './tensors.ts';

export interface EpochResult {
  loss: number;
  /** Fraction correct, for classifiers. */
  accuracy?: number;
  /** Mean over the epoch's steps of the loss gradient's 2-norm (unless the Trainer skips it). */
  gradNorm?: number;
  steps: number;
}

export interface TrainOptions {
  batchSize: number;
  /** A constant, or the learning rate of each (1-based) step. */
  lr: number | ((step: number) => number);
  /** Draws each epoch's order. */
  random: Random;
  onStep?: (done: number, total: number, loss: number) => void;
}

export interface EvaluationResult {
  loss: number;
  accuracy?: number;
}

export interface TrainerOptions extends RuntimeOptions {
  dtype?: FloatType;
  /**
   * Optimizer steps per onnxruntime call (an ONNX Loop over stacked
   * batches, train_steps). Worth it where a step is cheap and the call's
   * fixed cost dominates: small networks. The weights are the same as with
   * one step per call.
   */
  stepsPerCall?: number;
  /**
   * Compute each step's gradient norm (default true; EpochResult.gradNorm).
   * false leaves it out of the step graphs: about 8% faster on an MNIST MLP.
   */
  gradientNorms?: boolean;
}

/**
 * Steps per onnxruntime call for a model and batch size. Every call costs
 * feeding and fetching all parameters and optimizer state; a Loop over K
 * stacked batches pays that once per K steps (on MNIST's 784-256-256-10 MLP,
 * K = 64 made an epoch 40% faster). K is at most 64, and capped so the stacked batches stay
 * under about 64 MB.
 */
export function defaultStepsPerCall(model: Model, batchSize: number): number {
  const floatsPerStep = batchSize * model.inputShape.reduce((a, b) => a * b, 1);
  return Math.max(1, Math.min(64, Math.floor(16_000_000 / floatsPerStep)));
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
    private readonly multiStepSession: ort.InferenceSession | null,
    private readonly stepsPerCall: number,
    private readonly recordsGradientNorms: boolean,
  ) {
    this.trainStepModel = trainStepModel;
    // Three sets of tensors rotate: onnxruntime writes a call's updated
    // parameters and state into the spare set (preallocated outputs); after a
    // call with finite losses the spare set becomes current and the old
    // current set is kept as the previous one. No buffer is allocated per
    // step, and a diverged call can fall back to weights with a finite loss.
    for (const [name, tensor] of [...parameterTensors, ...stateTensors]) {
      const blank = () => tensorOf(dtype, floatArray(dtype, (tensor.data as FloatArray).length), tensor.dims);
      this.spareTensors.set(name, blank());
      this.previousTensors.set(name, blank());
    }
  }

  private readonly spareTensors = new Map<string, ort.Tensor>();
  private readonly previousTensors = new Map<string, ort.Tensor>();
  /** stepCount when the previous set was current, or undefined before the first call. */
  private previousStepCount: number | undefined;

  /**
   * Goes back to the weights and state before the last call, whose first
   * loss was finite: used when a call, or an evaluation after it, turns NaN.
   * Returns the step count of those weights.
   */
  rollBack(): number {
    if (this.previousStepCount === undefined) {
      throw new DivergenceError('training diverged at its first step; the initial weights were kept; lower the learning rate (--lr)');
    }
    for (const current of [this.parameterTensors, this.stateTensors]) {
      for (const [name, tensor] of current) {
        current.set(name, this.previousTensors.get(name)!);
        this.previousTensors.set(name, tensor);
      }
    }
    this.stepCount = this.previousStepCount;
    this.previousStepCount = undefined;
    return this.stepCount;
  }

  /** Makes the spare set (just written by a call) current; the old current set becomes the previous one. */
  private advance(steps: number): void {
    for (const current of [this.parameterTensors, this.stateTensors]) {
      for (const [name, tensor] of current) {
        current.set(name, this.spareTensors.get(name)!);
        this.spareTensors.set(name, this.previousTensors.get(name)!);
        this.previousTensors.set(name, tensor);
      }
    }
    this.previousStepCount = this.stepCount;
    this.stepCount += steps;
  }

  static async create(model: Model, optimizer: Optimizer, initial: ParameterValues, options: TrainerOptions = {}): Promise<Trainer> {
    const dtype = options.dtype ?? 'float32';
    const stepsPerCall = options.stepsPerCall ?? 1;
    if (!Number.isInteger(stepsPerCall) || stepsPerCall < 1) throw new UserError(`steps per call must be a whole number of at least 1, got ${stepsPerCall}`);
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
    // Sessions are opened last, after the inputs are checked, so a bad argument leaks none.
    const stepOptions = { gradNorm: options.gradientNorms !== false };
    const trainStepModel = serializeGraph(trainStepGraph(model, optimizer, dtype, stepOptions));
    const trainSession = await createSession(trainStepModel, options);
    const evalSession = await createSession(serializeGraph(evalGraph(model, dtype)), options);
    const multiStepSession =
      stepsPerCall > 1 ? await createSession(serializeGraph(multiStepTrainGraph(model, optimizer, dtype, stepOptions)), options) : null;
    return new Trainer(model, optimizer, dtype, trainSession, evalSession, parameters, states, trainStepModel, multiStepSession, stepsPerCall, stepOptions.gradNorm);
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
  async trainEpoch(dataset: Dataset, options: TrainOptions): Promise<EpochResult> {
    return (await this.trainEpochs(dataset, 1, options))[0]!;
  }

  /**
   * Several epochs, each in its own seeded order, exactly as that many calls
   * of trainEpoch. With several steps per call, a call may span epochs (a
   * full-batch run is one step an epoch), which is where it saves the most.
   */
  async trainEpochs(dataset: Dataset, epochs: number, options: TrainOptions): Promise<EpochResult[]> {
    const { batchSize } = options;
    const width = inputSize(dataset);
    const targetWidth = dataset.labels ? 1 : (dataset.targetWidth ?? 1);
    const stepsPerEpoch = Math.ceil(dataset.count / batchSize);
    const results: EpochResult[] = [];
    const orders: Uint32Array[] = [];
    const orderOf = (epoch: number) => (orders[epoch] ??= options.random.permutation(dataset.count));
    const rowsOf = (step: number) => Math.min(batchSize, dataset.count - (step % stepsPerEpoch) * batchSize);
    let totals = { loss: 0, correct: 0, gradNorm: 0 };
    const totalSteps = epochs * stepsPerEpoch;
    for (let s = 0; s < totalSteps; ) {
      // Consecutive batches of one size go K at a time through the Loop graph when there is one.
      const rows = rowsOf(s);
      let k = 1;
      if (this.multiStepSession) while (k < this.stepsPerCall && s + k < totalSteps && rowsOf(s + k) === rows) k++;
      const { x, target } = this.batchBuffers(dataset, rows, k);
      for (let j = 0; j < k; j++) {
        const step = s + j;
        const begin = (step % stepsPerEpoch) * batchSize;
        const order = orderOf(Math.floor(step / stepsPerEpoch));
        gatherBatch(dataset, order, begin, begin + rows, x.subarray(j * rows * width, (j + 1) * rows * width), target.subarray(j * rows * targetWidth, (j + 1) * rows * targetWidth));
      }
      const firstStep = this.stepCount + 1;
      const lrs = Array.from({ length: k }, (_, j) => (typeof options.lr === 'function' ? options.lr(firstStep + j) : options.lr));
      const stacked = k > 1 ? [k] : [];
      const feeds: Record<string, ort.Tensor> = {
        x: tensorOf(this.dtype, x, [...stacked, rows, ...dataset.inputShape]),
        target: dataset.labels ? tensorOf('int64', target, [...stacked, rows]) : tensorOf(this.dtype, target, [...stacked, rows, targetWidth]),
        lr: k > 1 ? tensorOf(this.dtype, this.dtype === 'float64' ? Float64Array.from(lrs) : Float32Array.from(lrs), [k]) : scalarTensor(this.dtype, lrs[0]!),
        step: scalarTensor('int64', firstStep),
      };
      for (const [name, tensor] of this.parameterTensors) feeds[name] = tensor;
      for (const [name, tensor] of this.stateTensors) feeds[name] = tensor;
      const fetches: Record<string, ort.Tensor | null> = { loss: null };
      if (this.recordsGradientNorms) fetches.grad_norm = null;
      if (this.model.task === 'classification') fetches.correct = null;
      for (const [name, tensor] of this.spareTensors) fetches[nextName(name)] = tensor;
      const outputs = await (k > 1 ? this.multiStepSession! : this.trainSession).run(feeds, fetches);
      const losses = Array.from(outputs.loss!.data as ArrayLike<number>);
      // Without gradient norms, a non-finite gradient shows in the next loss, or in the final check of the weights.
      const gradNorms = outputs.grad_norm ? Array.from(outputs.grad_norm.data as ArrayLike<number>) : losses.map(() => 0);
      const bad = losses.findIndex((loss, j) => !Number.isFinite(loss) || !Number.isFinite(gradNorms[j]!));
      if (bad >= 0) {
        // The weights fed to this call gave a finite first loss unless the very first one failed;
        // then the weights before the previous call are the last with a finite loss.
        const kept = bad > 0 ? this.stepCount : this.rollBack();
        throw new DivergenceError(
          `training diverged at step ${firstStep + bad} (loss ${losses[bad]}, gradient norm ${gradNorms[bad]}); kept the weights after step ${kept}, the last with a finite loss; lower the learning rate (--lr)`,
        );
      }
      this.advance(k);
      const corrects = outputs.correct ? Array.from(outputs.correct.data as BigInt64Array, Number) : [];
      for (let j = 0; j < k; j++) {
        const step = s + j;
        totals.loss += losses[j]! * rows;
        totals.gradNorm += gradNorms[j]!;
        totals.correct += corrects[j] ?? 0;
        options.onStep?.((step % stepsPerEpoch) + 1, stepsPerEpoch, losses[j]!);
        if ((step + 1) % stepsPerEpoch === 0) {
          results.push({
            loss: totals.loss / dataset.count,
            accuracy: dataset.labels ? totals.correct / dataset.count : undefined,
            gradNorm: this.recordsGradientNorms ? totals.gradNorm / stepsPerEpoch : undefined,
            steps: stepsPerEpoch,
          });
          totals = { loss: 0, correct: 0, gradNorm: 0 };
        }
      }
      s += k;
    }
    if (!this.parametersAreFinite()) {
      const kept = this.rollBack();
      throw new DivergenceError(`training diverged: the last update made a weight NaN or Inf; kept the weights after step ${kept}; lower the learning rate (--lr)`);
    }
    return results;
  }

  /**
   * evaluate() that treats a NaN or Inf loss as divergence: the weights roll
   * back to the last ones with a finite training loss, and a DivergenceError
   * says so. Training loops call this after each epoch.
   */
  async evaluateOrRollBack(dataset: Dataset, chunkSize = 1000): Promise<EvaluationResult> {
    const result = await this.evaluate(dataset, chunkSize);
    if (!Number.isFinite(result.loss)) {
      const after = this.stepCount;
      const kept = this.rollBack();
      throw new DivergenceError(
        `training diverged: the loss on ${dataset.name} after step ${after} is ${result.loss}; kept the weights after step ${kept}; lower the learning rate (--lr)`,
      );
    }
    return result;
  }

  /** Mean loss (and accuracy) over a whole data set, in chunks. */
  async evaluate(dataset: Dataset, chunkSize = 1000): Promise<EvaluationResult> {
    const order = Uint32Array.from({ length: dataset.count }, (_, i) => i);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < dataset.count; start += chunkSize) {
      const end = Math.min(dataset.count, start + chunkSize);
      const rows = end - start;
      // In data set order the chunk is a slice of the data set's own arrays: feed it as is.
      const view = contiguousRows(dataset, start, end, this.dtype);
      const { x, target } = view ?? this.batchBuffers(dataset, rows);
      if (!view) gatherBatch(dataset, order, start, end, x, target);
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
    await this.multiStepSession?.release();
  }

  private parametersAreFinite(): boolean {
    return [...this.parameterTensors.values()].every((tensor) => (tensor.data as FloatArray).every(Number.isFinite));
  }

  private readonly buffers = new Map<string, { x: FloatArray; target: BigInt64Array | FloatArray }>();

  /** Reused batch buffers for `stacked` batches of `rows` examples. */
  private batchBuffers(dataset: Dataset, rows: number, stacked = 1) {
    const key = `${inputSize(dataset)}/${dataset.labels ? 'labels' : dataset.targetWidth ?? 1}/${rows}x${stacked}`;
    let buffer = this.buffers.get(key);
    if (!buffer) {
      const x = floatArray(this.dtype, stacked * rows * inputSize(dataset));
      const target = dataset.labels ? new BigInt64Array(stacked * rows) : floatArray(this.dtype, stacked * rows * (dataset.targetWidth ?? 1));
      buffer = { x, target };
      this.buffers.set(key, buffer);
    }
    return buffer;
  }

  private targetTensor(target: BigInt64Array | FloatArray, rows: number, dataset: Dataset): ort.Tensor {
    return dataset.labels ? tensorOf('int64', target, [rows]) : tensorOf(this.dtype, target, [rows, dataset.targetWidth ?? 1]);
  }
}
