/**
 * How sensitive a trained classifier is to its input (HW1 1-3, "flatness vs
 * generalization, part 2"), by two definitions, each the mean over examples
 * of that example's own Frobenius norm:
 * - the slides' cheap one, ||∂ℓ_n/∂x_n||_F: the gradient of example n's own
 *   cross-entropy with respect to its input (input_grad.onnx);
 * - the original one (Novak et al., "Sensitivity and Generalization in Neural
 *   Networks: an Empirical Study", ICLR 2018), ||∂p(x_n)/∂x_n||_F: the
 *   Jacobian of the class probabilities with respect to the input
 *   (jacobian.onnx).
 * Norms per example, not of a whole batch, so neither depends on how many
 * examples go into one onnxruntime call.
 */
import type * as ort from 'onnxruntime-node';
import { contiguousRows, gatherBatch, inputSize, type Dataset } from '../data/dataset.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import { inputGradGraph, jacobianGraph } from '../programs/secondOrder.ts';
import { createSession, type RuntimeOptions } from '../runtime/session.ts';
import { tensorOf } from '../runtime/tensors.ts';
import type { Weights } from './flatWeights.ts';

export interface InputSensitivity {
  /** Mean over the examples of ||∂ℓ_n/∂x_n||_F, ℓ_n the example's own cross-entropy. */
  lossGradient: number;
  /** Mean over the examples of ||∂p(x_n)/∂x_n||_F, p the softmax of the logits. */
  jacobian: number;
  /** Mean cross-entropy over the same examples (from input_grad.onnx). */
  loss: number;
  /** Share of the same examples whose most probable class is the label. */
  accuracy: number;
  /** How many examples: the data set's first ones. */
  examples: number;
  /** Examples per onnxruntime call. */
  perCall: number;
  /** Each example's own norms, in data set order. */
  perExample: { lossGradient: Float64Array; jacobian: Float64Array };
}

export interface SensitivityOptions extends RuntimeOptions {
  /** Examples per onnxruntime call (default 100); the results do not depend on it. */
  examplesPerCall?: number;
  /** The graphs' float type (default float32, as the models are trained). */
  dtype?: FloatType;
}

export interface SensitivityEvaluator {
  /** Both sensitivities of the model with `weights` on the first `limit` examples of `dataset` (all by default). */
  measure(weights: Weights, dataset: Dataset, limit?: number): Promise<InputSensitivity>;
  /** onnxruntime calls made so far (each call runs both graphs once). */
  calls: number;
  release(): Promise<void>;
}

/**
 * One input_grad.onnx and one jacobian.onnx session for a classifier; the
 * weights are graph inputs, so the same sessions measure every run of a model.
 */
export async function sensitivityEvaluator(model: Model, options: SensitivityOptions = {}): Promise<SensitivityEvaluator> {
  if (model.task !== 'classification') {
    throw new Error(`sensitivity: ${model.name} is a ${model.task} model; both definitions need a classifier's cross-entropy and class probabilities`);
  }
  const dtype = options.dtype ?? 'float32';
  const perCall = options.examplesPerCall ?? 100;
  if (!Number.isInteger(perCall) || perCall < 1) throw new Error(`sensitivity: examplesPerCall must be a positive integer, got ${perCall}`);
  const runtime = { ep: options.ep, threads: options.threads };
  const inputGrad = await createSession(serializeGraph(inputGradGraph(model, dtype)), runtime);
  const jacobian = await createSession(serializeGraph(jacobianGraph(model, dtype)), runtime).catch(async (error: unknown) => {
    await inputGrad.release();
    throw error;
  });
  const classes = model.outputShape[0]!;

  const evaluator: SensitivityEvaluator = {
    calls: 0,
    async measure(weights, dataset, limit = dataset.count) {
      if (!dataset.labels) throw new Error(`sensitivity: data set ${dataset.name} has no class labels`);
      if (dataset.inputShape.join() !== model.inputShape.join()) {
        throw new Error(`sensitivity: data set ${dataset.name} has inputs [${dataset.inputShape.join(', ')}], model ${model.name} takes [${model.inputShape.join(', ')}]`);
      }
      const count = Math.min(limit, dataset.count);
      if (count < 1) throw new Error(`sensitivity: no examples to measure (data set ${dataset.name} has ${dataset.count}, limit ${limit})`);
      const parameters: Record<string, ort.Tensor> = {};
      for (const p of model.parameters) {
        const values = weights.get(p.name);
        if (!values) throw new Error(`sensitivity: the weights have no ${p.name} for model ${model.name}`);
        parameters[p.name] = tensorOf(dtype, dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), p.shape);
      }
      const width = inputSize(dataset);
      const lossGradient = new Float64Array(count);
      const jacobianNorm = new Float64Array(count);
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < count; start += perCall) {
        const end = Math.min(count, start + perCall);
        const rows = end - start;
        const { x, target } = chunkOf(dataset, start, end, dtype);
        const feeds: Record<string, ort.Tensor> = { ...parameters, x: tensorOf(dtype, x, [rows, ...model.inputShape]) };
        const gradient = await inputGrad.run({ ...feeds, target: tensorOf('int64', target, [rows]) }, ['loss', 'grad.x']);
        const probabilities = await jacobian.run(feeds, ['probabilities', 'jacobian_norm_per_example']);
        evaluator.calls++;
        // input_grad's loss is the chunk's mean, so row n of grad.x is (1 / rows) ∂ℓ_n/∂x_n.
        const gx = gradient['grad.x']!.data as Float32Array | Float64Array;
        for (let r = 0; r < rows; r++) {
          let squares = 0;
          for (let k = r * width; k < (r + 1) * width; k++) squares += gx[k]! * gx[k]!;
          lossGradient[start + r] = rows * Math.sqrt(squares);
        }
        lossSum += rows * Number((gradient.loss!.data as Float32Array | Float64Array)[0]!);
        jacobianNorm.set(probabilities.jacobian_norm_per_example!.data as Float32Array | Float64Array, start);
        const p = probabilities.probabilities!.data as Float32Array | Float64Array;
        for (let r = 0; r < rows; r++) {
          let best = 0;
          for (let c = 1; c < classes; c++) if (p[r * classes + c]! > p[r * classes + best]!) best = c;
          if (best === dataset.labels[start + r]) correct++;
        }
      }
      return {
        lossGradient: mean(lossGradient),
        jacobian: mean(jacobianNorm),
        loss: lossSum / count,
        accuracy: correct / count,
        examples: count,
        perCall,
        perExample: { lossGradient, jacobian: jacobianNorm },
      };
    },
    async release() {
      await inputGrad.release();
      await jacobian.release();
    },
  };
  return evaluator;
}

/** Both sensitivities of one model on the first `limit` examples of a data set (sessions made and released here). */
export async function inputSensitivity(
  model: Model,
  weights: Weights,
  dataset: Dataset,
  options: SensitivityOptions & { limit?: number } = {},
): Promise<InputSensitivity> {
  const evaluator = await sensitivityEvaluator(model, options);
  try {
    return await evaluator.measure(weights, dataset, options.limit);
  } finally {
    await evaluator.release();
  }
}

/** Rows start..end as the graphs' float type, and their labels as int64. */
function chunkOf(dataset: Dataset, start: number, end: number, dtype: FloatType): { x: Float32Array | Float64Array; target: BigInt64Array } {
  const view = contiguousRows(dataset, start, end, dtype);
  if (view) return { x: view.x, target: view.target as BigInt64Array };
  const rows = end - start;
  const x = new Float64Array(rows * inputSize(dataset));
  const target = new BigInt64Array(rows);
  gatherBatch(dataset, Uint32Array.from({ length: rows }, (_, i) => start + i), 0, rows, x, target);
  return { x, target };
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
