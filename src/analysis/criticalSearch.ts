/**
 * Driving a network's gradient to zero (HW1 1-2), by the two methods the
 * homework names, on one fixed batch in float64 graphs: descent on ‖∇L‖²
 * (gradnorm_steps.onnx, whose gradient 2 H g is exact) and Levenberg–Marquardt
 * on ∇L = 0 with the exact Hessian (hessian.onnx). Each returns every
 * step's gradient norm and says why it stopped.
 */
import type * as ort from 'onnxruntime-node';
import type { FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { hessianGraph } from '../programs/hessianLoops.ts';
import { gradientGraph, nextName, stateInputName } from '../programs/programs.ts';
import { gradNormStepsGraph } from '../programs/secondOrder.ts';
import { createSession, type RuntimeOptions } from '../runtime/session.ts';
import { scalarOf, scalarTensor, tensorOf } from '../runtime/tensors.ts';
import { flattenWeights, splitByParameters } from './flatWeights.ts';
import type { GradientAndHessian } from './levenbergMarquardt.ts';

export interface FixedBatch {
  x: FloatArray;
  /** Regression targets [N, outputs] or class indices. */
  target: FloatArray | BigInt64Array;
  count: number;
}

/** Feeds of the data, the same for every program here. */
function dataFeeds(model: Model, data: FixedBatch): Record<string, ort.Tensor> {
  return {
    x: tensorOf('float64', Float64Array.from(data.x), [data.count, ...model.inputShape]),
    target:
      model.task === 'classification'
        ? tensorOf('int64', data.target as BigInt64Array, [data.count])
        : tensorOf('float64', Float64Array.from(data.target as FloatArray), [data.count, model.outputShape[0]!]),
  };
}

function parameterFeeds(model: Model, theta: ArrayLike<number>): Record<string, ort.Tensor> {
  const parts = splitByParameters(model, theta);
  return Object.fromEntries(model.parameters.map((p) => [p.name, tensorOf('float64', parts.get(p.name)!, p.shape)]));
}

/** Per-parameter outputs (`prefix` + name) of a run, flattened in parameter order. */
function flatOutputs(model: Model, outputs: Record<string, ort.Tensor>, prefix = ''): Float64Array {
  return flattenWeights(model, new Map(model.parameters.map((p) => [p.name, outputs[`${prefix}${p.name}`]!.data as Float64Array])));
}

/** Loss, gradient and full Hessian at any θ: gradient.onnx and hessian.onnx in float64, each session opened once (the Hessian's on first use). */
export async function networkSecondOrder(model: Model, data: FixedBatch, options: RuntimeOptions = {}) {
  const gradient = await createSession(serializeGraph(gradientGraph(model, 'float64')), options);
  // Opened on the first at(): callers that need only gradients (an ε-ball ascent on a large model) never build the P x P program.
  let hessian: Awaited<ReturnType<typeof createSession>> | undefined;
  const fixed = dataFeeds(model, data);
  const gradientAt = async (theta: ArrayLike<number>) => {
    const out = await gradient.run({ ...fixed, ...parameterFeeds(model, theta) });
    return { loss: scalarOf(out.loss!), gradient: flatOutputs(model, out, 'grad.') };
  };
  return {
    gradientAt,
    async at(theta: ArrayLike<number>): Promise<GradientAndHessian> {
      const { loss, gradient: g } = await gradientAt(theta);
      hessian ??= await createSession(serializeGraph(hessianGraph(model, 'float64')), options);
      const out = await hessian.run({ ...fixed, ...parameterFeeds(model, theta) });
      return { loss, gradient: g, hessian: Float64Array.from(out.hessian!.data as Float64Array) };
    },
    async release() {
      await gradient.release();
      await hessian?.release();
    },
  };
}

export interface GradNormDescentResult {
  theta: Float64Array;
  /** ||g|| before each step, then at the end. */
  gradientNorms: number[];
  steps: number;
  stop: 'tolerance' | 'step limit' | 'diverged';
}

/**
 * Steps of `optimizer` on ‖∇L‖², `chunk` per onnxruntime call, until ‖g‖ is
 * below `tolerance` (checked after each call) or `maxSteps` were taken.
 */
export async function gradNormDescent(
  model: Model,
  optimizer: Optimizer,
  data: FixedBatch,
  start: ArrayLike<number>,
  options: RuntimeOptions & { lr: number; maxSteps: number; tolerance: number; chunk?: number },
): Promise<GradNormDescentResult> {
  const chunk = options.chunk ?? 500;
  const session = await createSession(serializeGraph(gradNormStepsGraph(model, optimizer, 'float64')), options);
  const fixed = dataFeeds(model, data);
  let carried: Record<string, ort.Tensor> = parameterFeeds(model, start);
  for (const p of model.parameters) {
    for (const slot of optimizer.stateSlots) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      carried[stateInputName(p.name, slot)] = tensorOf('float64', new Float64Array(size).fill(optimizer.initialState?.[slot] ?? 0), p.shape);
    }
  }
  const norms: number[] = [];
  let steps = 0;
  let stop: GradNormDescentResult['stop'] = 'step limit';
  try {
    while (steps < options.maxSteps) {
      const k = Math.min(chunk, options.maxSteps - steps);
      const out = await session.run({ ...fixed, ...carried, lr: tensorOf('float64', new Float64Array(k).fill(options.lr), [k]), step: scalarTensor('int64', steps + 1) });
      const chunkNorms = Array.from(out.grad_norm!.data as Float64Array);
      norms.push(...chunkNorms);
      steps += k;
      if (chunkNorms.some((n) => !Number.isFinite(n))) {
        stop = 'diverged';
        break;
      }
      carried = Object.fromEntries(Object.keys(carried).map((name) => [name, out[nextName(name)]!]));
      if (chunkNorms.at(-1)! < options.tolerance) {
        stop = 'tolerance';
        break;
      }
    }
  } finally {
    await session.release();
  }
  return { theta: flatOutputs(model, carried), gradientNorms: norms, steps, stop };
}
