/**
 * Loss landscapes (Li et al., "Visualizing the Loss Landscape of Neural
 * Nets", 2018): the loss at θ = center + α d1 + β d2 over a grid, or along a
 * line, evaluated by surface.onnx with many points per onnxruntime call.
 * Directions are random and filter-normalized as in the loss-landscape code:
 * each row of a dense weight and each output filter of a convolution weight
 * is rescaled to the norm of the same row or filter of the weights, and
 * biases get no direction (its default `--xignore biasbn`), so the picture
 * does not depend on the scale invariance of ReLU networks.
 */
import type * as ort from 'onnxruntime-node';
import type { FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import { directionName, surfaceGraph } from '../programs/surface.ts';
import { createSession, type RuntimeOptions } from '../runtime/session.ts';
import { tensorOf } from '../runtime/tensors.ts';
import type { Random } from '../util/random.ts';

import type { Weights } from './flatWeights.ts';

export type { Weights };

/** A random normal direction with each row (dense) or output filter (conv) scaled to the weights' own; zero for biases. */
export function filterNormalizedDirection(model: Model, weights: Weights, random: Random): Map<string, Float64Array> {
  const direction = new Map<string, Float64Array>();
  for (const parameter of model.parameters) {
    const w = weights.get(parameter.name)!;
    const d = new Float64Array(w.length);
    if (parameter.shape.length >= 2) {
      random.fillNormal(d);
      const filters = parameter.shape[0]!;
      const width = w.length / filters;
      for (let f = 0; f < filters; f++) {
        let wNorm = 0;
        let dNorm = 0;
        for (let j = f * width; j < (f + 1) * width; j++) {
          wNorm += w[j]! * w[j]!;
          dNorm += d[j]! * d[j]!;
        }
        // The loss-landscape code's d * (||w|| / (||d|| + 1e-10)).
        const scale = Math.sqrt(wNorm) / (Math.sqrt(dNorm) + 1e-10);
        for (let j = f * width; j < (f + 1) * width; j++) d[j]! *= scale;
      }
    }
    direction.set(parameter.name, d);
  }
  return direction;
}

/** b - a, parameter by parameter: the direction of the line from a to b. */
export function difference(model: Model, from: Weights, to: Weights): Map<string, Float64Array> {
  return new Map(model.parameters.map((p) => [p.name, Float64Array.from(to.get(p.name)!, (v, i) => v - from.get(p.name)![i]!)]));
}

export interface SurfaceData {
  /** Inputs, row-major [N, ...inputShape]. */
  x: FloatArray;
  /** Class indices (classification) or targets [N, outputs]. */
  target: BigInt64Array | FloatArray;
  count: number;
}

export interface SurfacePoint {
  alpha: number;
  beta: number;
}

export interface SurfaceValues {
  /** Mean loss at each point. */
  loss: number[];
  /** Accuracy at each point (classifiers). */
  accuracy?: number[];
}

export interface SurfaceEvaluator {
  /** The loss (and accuracy) at each point, `pointsPerCall` points per onnxruntime call. */
  evaluate(points: readonly SurfacePoint[], data: SurfaceData): Promise<SurfaceValues>;
  calls: number;
  release(): Promise<void>;
}

/** One surface.onnx session for a center and two directions (d2 may be zero, for lines). */
export async function surfaceEvaluator(
  model: Model,
  center: Weights,
  d1: Weights,
  d2: Weights | undefined,
  options: RuntimeOptions & { dtype?: FloatType; pointsPerCall?: number } = {},
): Promise<SurfaceEvaluator> {
  const dtype = options.dtype ?? 'float32';
  const perCall = options.pointsPerCall ?? 64;
  const floats = (values: ArrayLike<number>) => (dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
  const fixed: Record<string, ort.Tensor> = {};
  for (const p of model.parameters) {
    fixed[p.name] = tensorOf(dtype, floats(center.get(p.name)!), p.shape);
    fixed[directionName(1, p.name)] = tensorOf(dtype, floats(d1.get(p.name)!), p.shape);
    fixed[directionName(2, p.name)] = tensorOf(dtype, d2 ? floats(d2.get(p.name)!) : floats(new Float64Array(center.get(p.name)!.length)), p.shape);
  }
  const session = await createSession(serializeGraph(surfaceGraph(model, dtype)), options);
  const evaluator: SurfaceEvaluator = {
    calls: 0,
    async evaluate(points, data) {
      const feeds: Record<string, ort.Tensor> = { ...fixed, x: tensorOf(dtype, data.x, [data.count, ...model.inputShape]) };
      feeds.target =
        model.task === 'classification'
          ? tensorOf('int64', data.target as BigInt64Array, [data.count])
          : tensorOf(dtype, data.target as FloatArray, [data.count, model.outputShape[0]!]);
      const elements = data.count * (model.task === 'classification' ? 1 : model.outputShape[0]!);
      const out: SurfaceValues = { loss: [], ...(model.task === 'classification' ? { accuracy: [] } : {}) };
      for (let start = 0; start < points.length; start += perCall) {
        const chunk = points.slice(start, start + perCall);
        feeds.alphas = tensorOf(dtype, floats(chunk.map((p) => p.alpha)), [chunk.length]);
        feeds.betas = tensorOf(dtype, floats(chunk.map((p) => p.beta)), [chunk.length]);
        const outputs = await session.run(feeds);
        evaluator.calls++;
        for (const sum of outputs.loss_sum!.data as Float32Array | Float64Array) out.loss.push(sum / elements);
        if (out.accuracy) for (const correct of outputs.correct!.data as BigInt64Array) out.accuracy.push(Number(correct) / data.count);
      }
      return out;
    },
    release: () => session.release(),
  };
  return evaluator;
}

/** n evenly spaced numbers from a to b, both included. */
export function linspace(a: number, b: number, n: number): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/** The grid points of xs × ys, row by row (y outer), as the heatmap chart reads them. */
export function gridPoints(xs: readonly number[], ys: readonly number[]): SurfacePoint[] {
  return ys.flatMap((beta) => xs.map((alpha) => ({ alpha, beta })));
}
