/**
 * Linear interpolation between two trained models (Goodfellow et al. 2015;
 * Keskar et al. 2017, "On Large-Batch Training for Deep Learning", fig. 3):
 * the mean loss and accuracy on a whole data set at θ(α) = (1 − α) θ₁ + α θ₂
 * for many α, α outside [0, 1] included. All α of a pair of models go through
 * one surface.onnx session, many α per onnxruntime call.
 */
import type { Dataset } from '../data/dataset.ts';
import { contiguousRows, gatherBatch, inputSize } from '../data/dataset.ts';
import type { Model } from '../nn/model.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import type { RuntimeOptions } from '../runtime/session.ts';
import type { Weights } from './flatWeights.ts';
import { linspace, surfaceEvaluator, type SurfaceData } from './landscape.ts';

export interface InterpolationOptions extends RuntimeOptions {
  dtype?: FloatType;
  /** Examples per onnxruntime call (default 10,000): bounds the memory of one call, not the result. */
  chunkSize?: number;
  /** α per onnxruntime call (default 64). */
  pointsPerCall?: number;
}

/** The loss (and accuracy, for classifiers) at each α over a whole data set. */
export interface InterpolationCurve {
  alpha: number[];
  /** Mean loss over every example (and output, for regression). */
  loss: number[];
  accuracy?: number[];
  examples: number;
}

export interface InterpolationEvaluator {
  evaluate(alphas: readonly number[], dataset: Dataset): Promise<InterpolationCurve>;
  /** onnxruntime calls so far. */
  readonly calls: number;
  release(): Promise<void>;
}

/**
 * One surface.onnx session for the line through θ₁ and θ₂. surface.onnx
 * computes center + (a d1 + b d2); with center = 0, d1 = θ₁, d2 = θ₂ and
 * (a, b) = (1 − α, α), α = 0 gives 1·θ₁ + 0·θ₂ = θ₁ and α = 1 gives θ₂
 * exactly in floating point, so the end points are the two models' own
 * losses, bit for bit. The usual form θ₁ + α (θ₂ − θ₁) rounds θ₂ − θ₁ and
 * reaches θ₂ only to within an ulp.
 */
export async function interpolationEvaluator(model: Model, theta1: Weights, theta2: Weights, options: InterpolationOptions = {}): Promise<InterpolationEvaluator> {
  const dtype = options.dtype ?? 'float32';
  const chunkSize = options.chunkSize ?? 10_000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`interpolation chunk size must be a whole number of examples of at least 1, got ${chunkSize}`);
  for (const p of model.parameters) {
    for (const [which, theta] of [['θ₁', theta1], ['θ₂', theta2]] as const) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (theta.get(p.name)?.length !== size) throw new Error(`interpolation: ${which} has no ${size} values for parameter ${p.name} of model ${model.name}`);
    }
  }
  const zeros = new Map(model.parameters.map((p) => [p.name, new Float32Array(theta1.get(p.name)!.length)]));
  const surface = await surfaceEvaluator(model, zeros, theta1, theta2, { ...options, dtype });
  return {
    get calls() {
      return surface.calls;
    },
    async evaluate(alphas, dataset) {
      const points = alphas.map((alpha) => ({ alpha: 1 - alpha, beta: alpha }));
      const width = model.task === 'classification' ? 1 : model.outputShape[0]!;
      const lossSums = new Float64Array(alphas.length);
      const correct = new Float64Array(alphas.length);
      for (let start = 0; start < dataset.count; start += chunkSize) {
        const end = Math.min(dataset.count, start + chunkSize);
        const rows = end - start;
        const values = await surface.evaluate(points, surfaceRows(dataset, start, end, dtype));
        for (let k = 0; k < alphas.length; k++) {
          // The evaluator returns loss_sum / elements; times elements gives
          // the graph's float32 sum back to within an ulp of float64, which
          // rounding to float32 removes, so chunks add up as eval's do.
          const sum = values.loss[k]! * rows * width;
          lossSums[k] += dtype === 'float32' ? Math.fround(sum) : sum;
          if (values.accuracy) correct[k] += Math.round(values.accuracy[k]! * rows);
        }
      }
      const elements = dataset.count * width;
      return {
        alpha: [...alphas],
        loss: Array.from(lossSums, (sum) => sum / elements),
        ...(model.task === 'classification' ? { accuracy: Array.from(correct, (c) => c / dataset.count) } : {}),
        examples: dataset.count,
      };
    },
    release: () => surface.release(),
  };
}

/** The curve on one data set, with a session of its own. */
export async function interpolate(
  model: Model,
  theta1: Weights,
  theta2: Weights,
  alphas: readonly number[],
  dataset: Dataset,
  options: InterpolationOptions = {},
): Promise<InterpolationCurve> {
  const evaluator = await interpolationEvaluator(model, theta1, theta2, options);
  try {
    return await evaluator.evaluate(alphas, dataset);
  } finally {
    await evaluator.release();
  }
}

/**
 * `count` evenly spaced α from `from` to `to` and the `include` ones, sorted
 * and without repeats; rounded to 12 decimals, so a 0.05 grid reads 0.35
 * rather than 0.35000000000000003.
 */
export function alphaGrid(from: number, to: number, count: number, include: readonly number[] = []): number[] {
  const round = (v: number) => Math.round(v * 1e12) / 1e12 + 0;
  return [...new Set([...linspace(from, to, count), ...include].map(round))].sort((a, b) => a - b);
}

/** The value at a grid α (within 1e-9); an error when the grid lacks it. */
export function valueAt(alphas: readonly number[], values: readonly number[], alpha: number): number {
  const index = alphas.findIndex((a) => Math.abs(a - alpha) < 1e-9);
  if (index < 0) throw new Error(`α = ${alpha} is not on the interpolation grid (${alphas.length} points from ${alphas[0]} to ${alphas.at(-1)}); add it to the grid`);
  return values[index]!;
}

export interface LossPeak {
  /** The grid α in (0, 1) with the highest loss. */
  alpha: number;
  loss: number;
  /** The loss there over the larger of the losses at α = 0 and α = 1: above 1, a barrier between the models. */
  ratio: number;
}

/** The highest loss strictly between the two models, or undefined when the grid has no α in (0, 1). */
export function lossPeak(alphas: readonly number[], losses: readonly number[]): LossPeak | undefined {
  const ends = Math.max(valueAt(alphas, losses, 0), valueAt(alphas, losses, 1));
  let peak: LossPeak | undefined;
  alphas.forEach((alpha, i) => {
    if (alpha > 1e-9 && alpha < 1 - 1e-9 && (peak === undefined || losses[i]! > peak.loss)) peak = { alpha, loss: losses[i]!, ratio: losses[i]! / ends };
  });
  return peak;
}

/** Rows start..end in data set order as surface.onnx's x and target, viewed where the dtype allows. */
function surfaceRows(dataset: Dataset, start: number, end: number, dtype: FloatType): SurfaceData {
  const view = contiguousRows(dataset, start, end, dtype);
  if (view) return { ...view, count: end - start };
  const rows = end - start;
  const x = new Float64Array(rows * inputSize(dataset));
  const target = dataset.labels ? new BigInt64Array(rows) : new Float64Array(rows * (dataset.targetWidth ?? 1));
  gatherBatch(dataset, Uint32Array.from({ length: end }, (_, i) => i), start, end, x, target);
  return { x, target, count: rows };
}
