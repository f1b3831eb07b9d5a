/**
 * What kind of point a (near-)critical point is, by the two definitions of
 * the minimal ratio in HW1 1-2: the share of positive Hessian eigenvalues
 * (hessian.ts's minimalRatio) and the share of random neighbours on a small
 * sphere whose loss is higher, evaluated many points per onnxruntime call.
 */
import type * as ort from 'onnxruntime-node';
import type { FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import { neighboursGraph } from '../programs/neighbours.ts';
import { createSession, type RuntimeOptions } from '../runtime/session.ts';
import { tensorOf } from '../runtime/tensors.ts';
import type { Random } from '../util/random.ts';
import { splitByParameters } from './flatWeights.ts';
import type { MinimalRatio } from './hessian.ts';

export type PointClass = 'minimum' | 'saddle' | 'maximum' | 'degenerate' | 'flat';

/**
 * From the eigenvalue counts: both signs is a saddle; one sign only, a strict
 * minimum or maximum when no eigenvalue is (numerically) zero and degenerate
 * otherwise (a minimum or maximum only as far as second order tells); none
 * but zeros, flat.
 */
export function classifyCriticalPoint(ratio: Pick<MinimalRatio, 'positive' | 'negative' | 'zero'>): PointClass {
  if (ratio.positive > 0 && ratio.negative > 0) return 'saddle';
  if (ratio.positive === 0 && ratio.negative === 0) return 'flat';
  if (ratio.zero > 0) return 'degenerate';
  return ratio.positive > 0 ? 'minimum' : 'maximum';
}

export interface SampledMinimalRatio {
  /** Share of the neighbours whose loss is above the center's. */
  ratio: number;
  higher: number;
  /** Neighbours whose loss equals the center's exactly (flat directions). */
  equal: number;
  samples: number;
  radius: number;
  centerLoss: number;
}

/** Losses at many points at once (the center first when asked alone). */
export type BatchLoss = (points: readonly Float64Array[]) => Promise<number[]>;

/** `samples` points θ + δ with δ uniform on the sphere of `radius` around θ, evaluated `batch` at a time. */
export async function sampledMinimalRatio(
  lossAt: BatchLoss,
  center: ArrayLike<number>,
  options: { radius: number; samples: number; random: Random; batch?: number },
): Promise<SampledMinimalRatio> {
  const size = center.length;
  const batch = options.batch ?? 500;
  const [centerLoss] = await lossAt([Float64Array.from(center)]);
  let higher = 0;
  let equal = 0;
  for (let done = 0; done < options.samples; done += batch) {
    const points = Array.from({ length: Math.min(batch, options.samples - done) }, () => {
      const direction = options.random.fillNormal(new Float64Array(size));
      let norm = 0;
      for (const v of direction) norm += v * v;
      const scale = options.radius / Math.sqrt(norm);
      return Float64Array.from(direction, (v, i) => center[i]! + scale * v);
    });
    for (const loss of await lossAt(points)) {
      if (loss > centerLoss!) higher++;
      else if (loss === centerLoss) equal++;
    }
  }
  return { ratio: higher / options.samples, higher, equal, samples: options.samples, radius: options.radius, centerLoss: centerLoss! };
}

/**
 * A BatchLoss for a model on a batch of data: neighbours.onnx with the
 * offsets from `center` fed as one [N, P] matrix per call (float64 by default).
 */
export async function modelBatchLoss(
  model: Model,
  center: ArrayLike<number>,
  data: { x: FloatArray; target: BigInt64Array | FloatArray; count: number },
  options: RuntimeOptions & { dtype?: 'float32' | 'float64' } = {},
): Promise<{ lossAt: BatchLoss; release(): Promise<void> }> {
  const dtype = options.dtype ?? 'float64';
  const floats = (values: ArrayLike<number>) => (dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
  const session = await createSession(serializeGraph(neighboursGraph(model, dtype)), options);
  const size = model.parameterCount;
  const feeds: Record<string, ort.Tensor> = { x: tensorOf(dtype, floats(data.x), [data.count, ...model.inputShape]) };
  feeds.target =
    model.task === 'classification' ? tensorOf('int64', data.target as BigInt64Array, [data.count]) : tensorOf(dtype, floats(data.target as FloatArray), [data.count, model.outputShape[0]!]);
  const parts = splitByParameters(model, center);
  for (const p of model.parameters) feeds[p.name] = tensorOf(dtype, floats(parts.get(p.name)!), p.shape);
  const elements = data.count * (model.task === 'classification' ? 1 : model.outputShape[0]!);
  return {
    async lossAt(points) {
      const deltas = dtype === 'float64' ? new Float64Array(points.length * size) : new Float32Array(points.length * size);
      points.forEach((point, n) => {
        for (let j = 0; j < size; j++) deltas[n * size + j] = point[j]! - center[j]!;
      });
      const outputs = await session.run({ ...feeds, deltas: tensorOf(dtype, deltas, [points.length, size]) });
      return Array.from(outputs.loss_sum!.data as Float64Array | Float32Array, (sum) => sum / elements);
    },
    release: () => session.release(),
  };
}

export interface GradientJump {
  /** The largest ||g(θ + εu) − g(θ)|| / ε over the sampled unit directions u. */
  maxQuotient: number;
  /** ||H||_F at θ: a smooth gradient changes by at most ||H||₂ ≤ ||H||_F per unit step. */
  hessianNorm: number;
  epsilon: number;
  /** False when the gradient jumps: θ sits on a kink (a ReLU switching for some example). */
  smooth: boolean;
}

/**
 * Whether the gradient is continuous around θ at scale ε: a ReLU network's
 * loss is smooth only between the surfaces where some example's
 * pre-activation crosses zero, and on such a surface ||g|| can stay away from
 * 0 on both sides, so no method drives it lower. A difference quotient far
 * above ||H|| (here 10 times) means a jump, not curvature.
 */
export async function gradientJump(
  gradientAt: (theta: Float64Array) => Promise<{ gradient: Float64Array }>,
  theta: ArrayLike<number>,
  hessian: ArrayLike<number>,
  options: { random: Random; directions?: number; epsilon?: number },
): Promise<GradientJump> {
  const epsilon = options.epsilon ?? 1e-7;
  const base = (await gradientAt(Float64Array.from(theta))).gradient;
  let hessianNorm = 0;
  for (let i = 0; i < hessian.length; i++) hessianNorm += hessian[i]! * hessian[i]!;
  hessianNorm = Math.sqrt(hessianNorm);
  let maxQuotient = 0;
  for (let k = 0; k < (options.directions ?? 8); k++) {
    const u = options.random.fillNormal(new Float64Array(theta.length));
    const norm = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
    const moved = (await gradientAt(Float64Array.from(theta, (v, i) => v + (epsilon * u[i]!) / norm))).gradient;
    const change = Math.sqrt(moved.reduce((s, v, i) => s + (v - base[i]!) ** 2, 0));
    maxQuotient = Math.max(maxQuotient, change / epsilon);
  }
  return { maxQuotient, hessianNorm, epsilon, smooth: maxQuotient <= 10 * Math.max(hessianNorm, Number.MIN_VALUE) };
}
