/**
 * Runs a model's train_step and eval graphs on onnxruntime. Parameters and
 * optimizer state live as runtime tensors between steps (the outputs of one
 * step are the inputs of the next); batches are gathered into reused buffers.
 */
import type * as ort from 'onnxruntime-node';
import { floatArray, type FloatArray } from '../ir/dtype.ts';
import { fixedFormulation, withConvFormulations, type ConvChooser, type ConvolutionsRecord } from '../autodiff/convFormulations.ts';
import { tuneConvFormulations } from './convTuner.ts';
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
  /** After every step, also inside a K-step call: its loss and gradient norm (before the update; undefined without gradient norms). */
  onStep?: (done: number, total: number, loss: number, gradNorm: number | undefined) => void;
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
  /**
   * Measure each convolution's gradient formulations at this batch size
   * (convTuner.ts, cached) and build with the fastest; otherwise the fixed
   * choice. Results agree to float rounding.
   */
  tuneBatchSize?: number;
  /** A chooser to build with instead (tests force each formulation with it). */
  convFormulations?: ConvChooser;
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
  /** For models with convolutions: the gradient formulation each Conv layer of the step graphs got, and whether it was tuned. */
  convolutions?: ConvolutionsRecord;

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
    // step, and on divergence the weights of any step of the last two calls
    // can be recomputed from the previous set (replayFrom).
    for (const [name, tensor] of [...parameterTensors, ...stateTensors]) {
      const blank = () => tensorOf(dtype, floatArray(dtype, (tensor.data as FloatArray).length), tensor.dims);
      this.spareTensors.set(name, blank());
      this.previousTensors.set(name, blank());
    }
    this.initialValues = copyValues([...parameterTensors, ...stateTensors]);
  }

  private readonly spareTensors = new Map<string, ort.Tensor>();
  private readonly previousTensors = new Map<string, ort.Tensor>();
  /** The last call whose losses were all finite: it started from previousTensors. */
  private lastCall: CallRecord | undefined;
  /** A call's batches live until the call after it has run: two buffer sets alternate. */
  private bufferParity = 0;
  /** Epochs trained so far. */
  private epochCount = 0;
  /** The weights and state at the end of the last few trainEpochs spans, newest last, and at creation: fallbacks on divergence. */
  private readonly spanEnds: { stepCount: number; epoch: number; values: Map<string, FloatArray> }[] = [];
  private readonly initialValues: Map<string, FloatArray>;
  /** The training set of the last trainEpochs call: good weights give a finite loss on all of it. */
  private trainingSet: Dataset | undefined;

  /** Makes the spare set (just written by a call) current; the old current set becomes the previous one. */
  private advance(call: CallRecord): void {
    for (const current of [this.parameterTensors, this.stateTensors]) {
      for (const [name, tensor] of current) {
        current.set(name, this.spareTensors.get(name)!);
        this.spareTensors.set(name, this.previousTensors.get(name)!);
        this.previousTensors.set(name, tensor);
      }
    }
    this.lastCall = call;
    this.stepCount += call.steps;
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
    const tuned = options.tuneBatchSize === undefined || options.convFormulations ? undefined : await tuneConvFormulations(model, { ...options, batchSize: options.tuneBatchSize, dtype });
    const chooser = options.convFormulations ?? tuned?.chooser ?? fixedFormulation;
    const { result: graphs, formulations } = withConvFormulations(chooser, () => ({
      trainStep: serializeGraph(trainStepGraph(model, optimizer, dtype, stepOptions)),
      multiStep: stepsPerCall > 1 ? serializeGraph(multiStepTrainGraph(model, optimizer, dtype, stepOptions)) : null,
    }));
    const trainSession = await createSession(graphs.trainStep, options);
    const evalSession = await createSession(serializeGraph(evalGraph(model, dtype)), options);
    const multiStepSession = graphs.multiStep ? await createSession(graphs.multiStep, options) : null;
    const trainer = new Trainer(model, optimizer, dtype, trainSession, evalSession, parameters, states, graphs.trainStep, multiStepSession, stepsPerCall, stepOptions.gradNorm);
    if (formulations.length) trainer.convolutions = { tuned: !!tuned, formulations };
    return trainer;
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
    this.trainingSet = dataset;
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
      this.bufferParity ^= 1;
      const { x, target } = this.batchBuffers(dataset, rows, k, this.bufferParity);
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
      const call: CallRecord = { startStep: this.stepCount, steps: k, rows, x, target, lrs, dataset };
      if (bad >= 0) {
        // Step t's loss is that of the weights after step t - 1, so those are bad; the newest
        // candidate is the weights after step t - 2, whose own loss (at step t - 1) was finite.
        const kept = await this.keepGoodWeights(firstStep + bad - 2, [], call);
        throw new DivergenceError(
          `training diverged at step ${firstStep + bad} (loss ${losses[bad]}, gradient norm ${gradNorms[bad]}); ${kept}; lower the learning rate (--lr)`,
        );
      }
      this.advance(call);
      const corrects = outputs.correct ? Array.from(outputs.correct.data as BigInt64Array, Number) : [];
      for (let j = 0; j < k; j++) {
        const step = s + j;
        totals.loss += losses[j]! * rows;
        totals.gradNorm += gradNorms[j]!;
        totals.correct += corrects[j] ?? 0;
        options.onStep?.((step % stepsPerEpoch) + 1, stepsPerEpoch, losses[j]!, this.recordsGradientNorms ? gradNorms[j]! : undefined);
        if ((step + 1) % stepsPerEpoch === 0) {
          results.push({
            loss: totals.loss / dataset.count,
            accuracy: dataset.labels ? totals.correct / dataset.count : undefined,
            gradNorm: this.recordsGradientNorms ? totals.gradNorm / stepsPerEpoch : undefined,
            steps: stepsPerEpoch,
          });
          totals = { loss: 0, correct: 0, gradNorm: 0 };
          this.epochCount++;
        }
      }
      s += k;
    }
    if (!this.parametersAreFinite()) {
      const after = this.stepCount;
      const kept = await this.keepGoodWeights(after - 1, []);
      throw new DivergenceError(`training diverged: step ${after} made a weight NaN or Inf; ${kept}; lower the learning rate (--lr)`);
    }
    this.spanEnds.push({ stepCount: this.stepCount, epoch: this.epochCount, values: copyValues([...this.parameterTensors, ...this.stateTensors]) });
    if (this.spanEnds.length > KEPT_SPAN_ENDS) this.spanEnds.shift();
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
      const kept = await this.keepGoodWeights(after - 1, [dataset]);
      throw new DivergenceError(`training diverged: the loss on ${dataset.name} after step ${after} is ${result.loss}; ${kept}; lower the learning rate (--lr)`);
    }
    return result;
  }

  /**
   * After divergence, installs the newest good weights and says which they
   * are. Good weights are finite and give a finite mean loss on the whole
   * training set (and on each of `alsoOn`): a finite loss on one batch is not
   * enough. The candidates, newest first: the weights after step `newest`,
   * recomputed from the retained weights of the last two calls (so several
   * steps per call keep exactly what one step per call keeps), the weights
   * at the ends of the last few trainEpochs spans, the initial weights.
   */
  private async keepGoodWeights(newest: number, alsoOn: Dataset[], failedCall?: CallRecord): Promise<string> {
    const checked = [this.trainingSet!, ...alsoOn];
    const where = checked.map((set) => `all ${set.count} ${set.name} examples`).join(' and ');
    const candidates: { step: number; what: string; values: () => Promise<Map<string, ort.Tensor> | undefined> }[] = [
      { step: newest, what: 'the last whose loss was finite on its batch', values: () => this.recompute(newest, failedCall) },
    ];
    for (const spanEnd of [...this.spanEnds].reverse()) {
      if (spanEnd.stepCount >= newest || spanEnd.stepCount === 0) continue;
      candidates.push({ step: spanEnd.stepCount, what: `the end of epoch ${spanEnd.epoch}`, values: async () => this.tensorsOf(spanEnd.values) });
    }
    if (newest > 0) candidates.push({ step: 0, what: 'the initial weights', values: async () => this.tensorsOf(this.initialValues) });
    const rejected: string[] = [];
    for (const candidate of candidates) {
      if (candidate.step < 0) continue;
      const values = await candidate.values();
      if (!values) continue;
      this.install(values, candidate.step);
      const loss = await this.lossesOn(checked);
      if (loss === undefined) {
        const tail = rejected.length ? ` (${rejected.join('; ')})` : '';
        return `kept the weights after step ${candidate.step} (${candidate.what}), finite with a finite loss on ${where}${tail}`;
      }
      rejected.push(`after step ${candidate.step} the loss on ${loss.set} is ${loss.value}`);
    }
    this.install(this.tensorsOf(this.initialValues), 0);
    return `no weights it had give a finite loss on ${where} (${rejected.join('; ') || 'the first step diverged'}); kept the initial weights`;
  }

  /** The first of `sets` on which the current weights give a non-finite loss, or undefined when they are good. */
  private async lossesOn(sets: Dataset[]): Promise<{ set: string; value: number } | undefined> {
    if (!this.parametersAreFinite()) return { set: 'its own weights', value: Number.NaN };
    for (const set of sets) {
      const { loss } = await this.evaluate(set);
      if (!Number.isFinite(loss)) return { set: set.name, value: loss };
    }
    return undefined;
  }

  /**
   * The weights and state after step `step`, recomputed by replaying single
   * train_step runs (bit-identical to the Loop's steps) over the retained
   * batches: from the current weights through the failed call's first steps,
   * or from the previous set through the last successful call's.
   */
  private async recompute(step: number, failedCall?: CallRecord): Promise<Map<string, ort.Tensor> | undefined> {
    const current = new Map([...this.parameterTensors, ...this.stateTensors]);
    if (failedCall && step >= failedCall.startStep) return this.replayFrom(current, failedCall, step - failedCall.startStep);
    const last = this.lastCall;
    if (last && step >= last.startStep && step < last.startStep + last.steps) return this.replayFrom(new Map(this.previousTensors), last, step - last.startStep);
    return undefined;
  }

  private async replayFrom(start: Map<string, ort.Tensor>, call: CallRecord, steps: number): Promise<Map<string, ort.Tensor>> {
    let values = start;
    const { dataset, rows } = call;
    const width = rows * inputSize(dataset);
    const targets = rows * (dataset.labels ? 1 : (dataset.targetWidth ?? 1));
    for (let i = 0; i < steps; i++) {
      const feeds: Record<string, ort.Tensor> = {
        x: tensorOf(this.dtype, call.x.subarray(i * width, (i + 1) * width), [rows, ...dataset.inputShape]),
        target: this.targetTensor(call.target.subarray(i * targets, (i + 1) * targets), rows, dataset),
        lr: scalarTensor(this.dtype, call.lrs[i]!),
        step: scalarTensor('int64', call.startStep + i + 1),
      };
      for (const [name, tensor] of values) feeds[name] = tensor;
      const outputs = await this.trainSession.run(feeds);
      values = new Map([...values.keys()].map((name) => [name, outputs[nextName(name)]!]));
    }
    return values;
  }

  private tensorsOf(values: Map<string, FloatArray>): Map<string, ort.Tensor> {
    const dims = new Map([...this.parameterTensors, ...this.stateTensors].map(([name, tensor]) => [name, tensor.dims]));
    return new Map([...values].map(([name, data]) => [name, tensorOf(this.dtype, data.slice(), dims.get(name)!)]));
  }

  /** Makes `values` the current weights and state, after step `step`; no earlier weights are retained. */
  private install(values: Map<string, ort.Tensor>, step: number): void {
    for (const current of [this.parameterTensors, this.stateTensors]) for (const name of current.keys()) current.set(name, values.get(name)!);
    this.stepCount = step;
    this.lastCall = undefined;
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

  /** Reused batch buffers for `stacked` batches of `rows` examples; training alternates two sets (parity 0, 1), evaluation has its own. */
  private batchBuffers(dataset: Dataset, rows: number, stacked = 1, parity: number | 'eval' = 'eval') {
    const key = `${inputSize(dataset)}/${dataset.labels ? 'labels' : dataset.targetWidth ?? 1}/${rows}x${stacked}/${parity}`;
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

/** Span ends kept as fallbacks: enough to step back past a few bad epochs, little memory (copies of weights and state). */
const KEPT_SPAN_ENDS = 4;

/** What one train call fed: enough to replay any of its steps. */
interface CallRecord {
  /** stepCount before the call. */
  startStep: number;
  steps: number;
  rows: number;
  x: FloatArray;
  target: BigInt64Array | FloatArray;
  lrs: number[];
  /** The data set the batches came from: their shapes and target kind. */
  dataset: Dataset;
}

function copyValues(tensors: Iterable<[string, ort.Tensor]>): Map<string, FloatArray> {
  return new Map([...tensors].map(([name, tensor]) => [name, (tensor.data as FloatArray).slice()]));
}
