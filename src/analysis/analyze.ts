/**
 * `hw1-onnx analyze`: the HW1 analyses (Hessian spectrum, sharpness, input
 * sensitivity) on any model at weights the user brings: a run folder of
 * `train` or a `.safetensors` file written by PyTorch's
 * `safetensors.torch.save_file(model.state_dict(), ...)`. Each analysis
 * returns a plain JSON-able report whose field names say what they are; the
 * CLI writes it. The math lives in hessian.ts, lanczos.ts, sharpness.ts and
 * sensitivity.ts; this file only chooses the inputs and names the outputs.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FloatArray } from '../ir/dtype.ts';
import { float32OnlyLayers } from '../nn/float64Support.ts';
import type { Model } from '../nn/model.ts';
import type { Dataset } from '../data/dataset.ts';
import { inputSize } from '../data/dataset.ts';
import { dataForModel } from '../data/forModel.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import { readModelWeights } from '../runtime/checkpoint.ts';
import type { RuntimeOptions } from '../runtime/session.ts';
import { UserError } from '../util/errors.ts';
import { Random } from '../util/random.ts';
import { networkSecondOrder } from './criticalSearch.ts';
import { flattenWeights } from './flatWeights.ts';
import { hessianEigenvalues, hessianFromOperator, hessianOperator, minimalRatio, parameterLayout, topHessianEigenvalue } from './hessian.ts';
import { alphaGrid, interpolationEvaluator } from './interpolation.ts';
import { filterNormalizedDirection, gridPoints, linspace, surfaceEvaluator } from './landscape.ts';
import { hutchinsonTrace, lanczos, spectralDensity } from './lanczos.ts';
import { sensitivityEvaluator } from './sensitivity.ts';
import { blockDiagonalTop, epsilonBallMaximum, quadraticSharpness } from './sharpness.ts';

/** The file `train` writes its final weights to, inside out/runs/<id>/ (src/cli/commands/train.ts). */
export const RUN_WEIGHTS_FILE = 'weights.safetensors';

/** Models at or below this many parameters get the full Hessian: its spectrum and the minimal ratio. */
export const DEFAULT_FULL_SPECTRUM_LIMIT = 2000;

/** A weights file, or a run folder holding weights.safetensors. */
export function resolveWeightsPath(path: string): string {
  if (!existsSync(path)) throw new UserError(`no weights at ${path} (give a .safetensors file or a run folder such as out/runs/<id>/)`);
  if (statSync(path).isDirectory()) {
    const file = join(path, RUN_WEIGHTS_FILE);
    if (!existsSync(file)) throw new UserError(`run folder ${path} has no ${RUN_WEIGHTS_FILE} (train writes it at the end of a run; give the .safetensors file itself otherwise)`);
    return file;
  }
  return path;
}

/**
 * The model's parameters from a safetensors file (or run folder), checked by
 * name and shape; a mismatch is one line naming the parameter and both shapes.
 */
export function loadWeightsFor(model: Model, path: string): Map<string, FloatArray> {
  const file = resolveWeightsPath(path);
  return readModelWeights(file, model, basename(file));
}

/** What each --data value feeds: its input shape, task and output width. */
const DATA_SHAPES: Record<string, { inputShape: number[]; task: Model['task']; outputs: number }> = {
  mnist: { inputShape: [1, 28, 28], task: 'classification', outputs: 10 },
  cifar10: { inputShape: [3, 32, 32], task: 'classification', outputs: 10 },
  function: { inputShape: [1], task: 'regression', outputs: 1 },
};

/** The model with its data set replaced by `data` (mnist, cifar10, function:NAME), refused unless the shapes fit. */
export function withDataset(model: Model, data: string | undefined): Model {
  if (data === undefined || data === model.dataset) return model;
  const kind = data.startsWith('function:') ? 'function' : data;
  const shape = DATA_SHAPES[kind];
  if (!shape || (kind === 'function' && data.length <= 'function:'.length)) {
    throw new UserError(`unknown --data "${data}" (use mnist, cifar10 or function:NAME)`);
  }
  const fits = shape.task === model.task && shape.inputShape.join(',') === model.inputShape.join(',') && shape.outputs === model.outputShape[0];
  if (!fits) {
    throw new UserError(
      `--data ${data} gives ${shape.task} examples of shape [${shape.inputShape.join(', ')}] with ${shape.outputs} outputs; ` +
        `${model.name} is a ${model.task} model taking [${model.inputShape.join(', ')}] with ${model.outputShape[0]} outputs (leave --data out to use its own ${model.dataset})`,
    );
  }
  return { ...model, dataset: data };
}

export interface AnalysisData {
  /** The first `examples` training examples. */
  train: Dataset;
  /** The first `examples` test examples (a function: as many points of its finer test grid). */
  test: Dataset;
  examples: number;
  source: string;
}

export function analysisData(model: Model, options: { examples: number; dataDir?: string }): AnalysisData {
  const data = dataForModel(model, { limitTrain: options.examples, limitTest: options.examples, dataDir: options.dataDir });
  return { train: data.train, test: data.test, examples: Math.min(options.examples, data.train.count), source: data.source };
}

/** The first `count` examples as one batch: inputs, and class labels (int64) or regression targets. */
export function fixedBatch(dataset: Dataset, count: number): { x: Float32Array; target: Float32Array | BigInt64Array; count: number } {
  const width = inputSize(dataset);
  const x = dataset.inputs.slice(0, count * width);
  if (dataset.labels) return { x, target: BigInt64Array.from(dataset.labels.subarray(0, count), (c) => BigInt(c)), count };
  const targetWidth = dataset.targetWidth ?? 1;
  return { x, target: dataset.targets!.slice(0, count * targetWidth), count };
}

/** float64 where onnxruntime can run the model in it, else float32 with the reason. */
export function analysisDtype(model: Model): { dtype: FloatType; reason: string } {
  const layers = float32OnlyLayers(model);
  if (layers.length === 0) return { dtype: 'float64', reason: 'float64: every op of the model has a float64 kernel' };
  return { dtype: 'float32', reason: `float32: ${layers.join(', ')} ha${layers.length > 1 ? 've' : 's'} no float64 kernel in onnxruntime's CPU provider` };
}

export interface AnalysisContext {
  model: Model;
  weights: Map<string, FloatArray>;
  weightsPath: string;
  data: AnalysisData;
  runtime: RuntimeOptions;
  seed: number;
}

/** Fields every report starts with. */
function header(context: AnalysisContext, analysis: string) {
  return {
    analysis,
    model: context.model.name,
    weights: context.weightsPath,
    data: context.data.source,
    examples: context.data.examples,
    parameters: context.model.parameterCount,
    seed: context.seed,
  };
}

/** The Hessian of the mean loss on the first N training examples, in the dtype the model allows, and the seeded Random the report draws from. */
async function openHessian(context: AnalysisContext) {
  const { dtype, reason } = analysisDtype(context.model);
  const batch = fixedBatch(context.data.train, context.data.examples);
  const operator = await hessianOperator(context.model, context.weights, batch, { ...context.runtime, dtype });
  return { dtype, reason, batch, operator, random: new Random(context.seed), apply: (v: Float64Array) => operator.apply(v) };
}

export interface HessianOptions {
  /** How many of the largest eigenvalues Lanczos resolves (default 5). */
  topK: number;
  /** Most Lanczos products (default 100). */
  lanczosSteps: number;
  /** Rademacher samples of Hutchinson's trace estimate (default 50). */
  traceSamples: number;
  /** Full Hessian, spectrum and minimal ratio at or below this many parameters (default 2,000). */
  fullSpectrumLimit: number;
  /** Power-iteration products (default 100). */
  powerIterations: number;
  /** Stochastic Lanczos quadrature runs of the spectral density (default 1; 0 for none). */
  densityRuns: number;
}

export const DEFAULT_HESSIAN_OPTIONS: HessianOptions = { topK: 5, lanczosSteps: 100, traceSamples: 50, fullSpectrumLimit: DEFAULT_FULL_SPECTRUM_LIMIT, powerIterations: 100, densityRuns: 1 };

/**
 * The Hessian of the mean training loss over the first N examples: λ_max and
 * the top k eigenvalues by Lanczos, the eigenvalue of largest magnitude by
 * power iteration (PyHessian's λ, which can be negative), the trace by
 * Hutchinson, and for small models the exact spectrum, trace and minimal ratio.
 */
export async function hessianReport(context: AnalysisContext, options: HessianOptions = DEFAULT_HESSIAN_OPTIONS) {
  const { model } = context;
  const { dtype, reason, operator, random, apply } = await openHessian(context);
  try {
    const size = operator.size;
    const k = Math.min(options.topK, size);
    const top = await lanczos(apply, size, { k, steps: Math.min(options.lanczosSteps, size), random });
    const power = await topHessianEigenvalue(operator, { iterations: options.powerIterations, seed: context.seed });
    const trace = await hutchinsonTrace(apply, size, { samples: options.traceSamples, random });
    const report = {
      ...header(context, 'hessian'),
      dtype,
      dtype_reason: reason,
      loss: operator.loss,
      lambda_max: top.ritzValues[0]!,
      lambda_max_method: `Lanczos, ${top.steps} Hessian-vector products${top.converged ? '' : ' (not converged to 1e-3: raise --lanczos-steps)'}`,
      top_eigenvalues: top.ritzValues.slice(0, k),
      top_eigenvalue_residuals: top.residuals.slice(0, k),
      lanczos_converged: top.converged,
      largest_magnitude_eigenvalue: {
        eigenvalue: Number.isNaN(power.eigenvalue) ? null : power.eigenvalue,
        magnitude: power.largestMagnitude,
        iterations: power.iterations,
        converged: power.converged,
        ...(power.message ? { message: power.message } : {}),
      },
      trace: trace.trace,
      trace_standard_error: trace.standardError,
      trace_method: `Hutchinson, ${trace.samples} Rademacher samples`,
      spectral_density: null as null | { eigenvalue: number[]; density: number[]; sigma: number; runs: number; steps: number; method: string },
      full_spectrum: null as null | { eigenvalues: number[]; lambda_max: number; lambda_min: number; trace: number; minimal_ratio: ReturnType<typeof minimalRatio> },
      full_spectrum_note: '',
    };
    if (options.densityRuns > 0) {
      const steps = Math.min(options.lanczosSteps, size);
      const density = await spectralDensity(apply, size, { runs: options.densityRuns, steps, random, gridPoints: 200 });
      report.spectral_density = {
        eigenvalue: density.grid,
        density: density.density,
        sigma: density.sigma,
        runs: options.densityRuns,
        steps,
        method: 'stochastic Lanczos quadrature from Rademacher starts, Gaussian-smoothed (sigma 1% of the spread); integrates to 1',
      };
    }
    if (size <= options.fullSpectrumLimit) {
      const full = await hessianFromOperator(operator, { label: model.name });
      const eigenvalues = Array.from(hessianEigenvalues(full.matrix));
      let exactTrace = 0;
      for (let i = 0; i < size; i++) exactTrace += full.matrix.get(i, i);
      report.full_spectrum = {
        eigenvalues,
        lambda_max: eigenvalues[eigenvalues.length - 1]!,
        lambda_min: eigenvalues[0]!,
        trace: exactTrace,
        minimal_ratio: minimalRatio(eigenvalues, { dtype }),
      };
      report.full_spectrum_note = `the full ${size} x ${size} Hessian (${size} parameters <= --full-limit ${options.fullSpectrumLimit}), eigenvalues ascending`;
    } else {
      report.full_spectrum_note = `not computed: ${size} parameters > --full-limit ${options.fullSpectrumLimit}`;
    }
    return report;
  } finally {
    await operator.release();
  }
}

export interface SharpnessOptions {
  epsilons: number[];
  /** Projected-gradient steps of the direct ε-ball maximum (default 30). */
  ascentSteps: number;
  lanczosSteps: number;
}

/**
 * Sharpness (HW1 1-3): the slides' formula λ_max ε² / (2 (1 + L)) with λ_max
 * from Lanczos (and the slides' block-diagonal λ_max), and Keskar's direct
 * maximum of L(θ + δ) − L(θ) over ‖δ‖ ≤ ε by projected gradient ascent, in
 * float64 (refused, with a note, for models onnxruntime cannot run in float64).
 */
export async function sharpnessReport(context: AnalysisContext, options: SharpnessOptions) {
  const { model } = context;
  const { dtype, reason, batch, operator, random, apply } = await openHessian(context);
  let lambdaMax: number;
  let topVector: Float64Array;
  let loss: number;
  let blocks: Awaited<ReturnType<typeof blockDiagonalTop>>;
  try {
    const top = await lanczos(apply, operator.size, { k: 1, steps: Math.min(options.lanczosSteps, operator.size), random });
    lambdaMax = top.ritzValues[0]!;
    topVector = top.topVector;
    loss = operator.loss;
    blocks = await blockDiagonalTop(apply, parameterLayout(model), { tolerance: 1e-3, steps: options.lanczosSteps, random });
  } finally {
    await operator.release();
  }
  const formula = options.epsilons.map((epsilon) => ({
    epsilon,
    sharpness: quadraticSharpness(lambdaMax, loss, epsilon),
    sharpness_block_diagonal: quadraticSharpness(blocks.max, loss, epsilon),
  }));
  let direct: null | { epsilon: number; rise: number; sharpness: number; quadratic_rise: number; steps: number; radius_used: number }[] = null;
  let gradientNorm: number | null = null;
  let directNote = 'projected gradient ascent in float64 from the top Hessian eigenvector; a lower bound of the true maximum';
  if (dtype === 'float64') {
    const second = await networkSecondOrder(model, { x: batch.x, target: batch.target, count: batch.count }, context.runtime);
    try {
      const theta = flattenWeights(model, context.weights);
      const center = await second.gradientAt(theta);
      const centerLoss = center.loss;
      gradientNorm = Math.sqrt(center.gradient.reduce((sum, g) => sum + g * g, 0));
      direct = [];
      for (const epsilon of options.epsilons) {
        const ball = await epsilonBallMaximum(second.gradientAt, theta, { epsilon, steps: options.ascentSteps, start: topVector, random, centerLoss, lambdaMax });
        direct.push({ epsilon, rise: ball.rise, sharpness: ball.sharpness, quadratic_rise: ball.quadraticRise!, steps: ball.steps, radius_used: ball.radiusUsed });
      }
    } finally {
      await second.release();
    }
  } else {
    directNote = `not computed: the direct maximum needs float64 gradients (at ε = 1e-4 the rise is below float32's resolution of the loss), and ${reason.replace(/^float32: /, '')}`;
  }
  return {
    ...header(context, 'sharpness'),
    dtype,
    dtype_reason: reason,
    loss,
    lambda_max: lambdaMax,
    lambda_max_block_diagonal: blocks.max,
    blocks: blocks.blocks.map((b) => ({ parameter: b.name, size: b.size, lambda_max: b.top, converged: b.converged })),
    formula: 'lambda_max * epsilon^2 / (2 * (1 + loss))',
    hw1_formula: formula,
    direct_maximum: direct,
    direct_maximum_note: directNote,
    gradient_norm: gradientNorm,
    gradient_norm_note: 'the formula assumes a critical point; where epsilon * gradient_norm is not small against lambda_max * epsilon^2 / 2, the first-order rise dominates the direct maximum',
  };
}

/**
 * Input sensitivity, both HW1 definitions: the mean norm of the loss gradient
 * with respect to the input, and the mean Frobenius norm of the Jacobian of
 * the class probabilities with respect to the input.
 */
export async function sensitivityReport(context: AnalysisContext) {
  const { model } = context;
  if (model.task !== 'classification') {
    throw new UserError(`sensitivity needs a classifier (cross-entropy and class probabilities); ${model.name} is a ${model.task} model`);
  }
  const evaluator = await sensitivityEvaluator(model, { ...context.runtime, dtype: 'float32' });
  try {
    const result = await evaluator.measure(context.weights, context.data.train, context.data.examples);
    return {
      ...header(context, 'sensitivity'),
      dtype: 'float32',
      loss: result.loss,
      accuracy: result.accuracy,
      loss_gradient_norm: result.lossGradient,
      loss_gradient_definition: 'mean over examples of ||d loss_n / d x_n||_F',
      jacobian_norm: result.jacobian,
      jacobian_definition: 'mean over examples of ||d softmax(f(x_n)) / d x_n||_F',
    };
  } finally {
    await evaluator.release();
  }
}

/**
 * The loss (and accuracy) along the line (1 − α) θ₁ + α θ₂ between two weight
 * files (HW1 3-2 / Goodfellow et al. 2015), on the first N training and test
 * examples; α = 0 and α = 1 are always on the grid.
 */
export async function interpolationReport(context: AnalysisContext, to: { weights: Map<string, FloatArray>; path: string }, grid: { from: number; to: number; count: number }) {
  const { model } = context;
  const { dtype, reason } = analysisDtype(model);
  const alphas = alphaGrid(grid.from, grid.to, grid.count, [0, 1]);
  const evaluator = await interpolationEvaluator(model, context.weights, to.weights, { ...context.runtime, dtype });
  try {
    const train = await evaluator.evaluate(alphas, context.data.train);
    const test = await evaluator.evaluate(alphas, context.data.test);
    return {
      ...header(context, 'interpolate'),
      weights_to: to.path,
      dtype,
      dtype_reason: reason,
      path: '(1 - alpha) * theta_1 + alpha * theta_2; alpha 0 is --weights, alpha 1 is --to',
      alpha: alphas,
      train_loss: train.loss,
      test_loss: test.loss,
      test_examples: test.examples,
      ...(train.accuracy ? { train_accuracy: train.accuracy, test_accuracy: test.accuracy } : {}),
    };
  } finally {
    await evaluator.release();
  }
}

export interface LandscapeOptions {
  dimensions: 1 | 2;
  /** α (and β) from −range to range. */
  range: number;
  /** Grid points per axis. */
  points: number;
}

/**
 * The training loss on a line or plane through θ along seeded, filter-
 * normalized random directions (Li et al. 2018): each filter (row of a
 * weight, output channel of a kernel) of a direction has the norm of the
 * same filter of θ; biases and other 1-D parameters are not moved (their
 * direction is zero, the loss-landscape code's ignore='biasbn').
 */
export async function landscapeReport(context: AnalysisContext, options: LandscapeOptions) {
  const { model } = context;
  const { dtype, reason } = analysisDtype(model);
  const random = new Random(context.seed);
  const d1 = filterNormalizedDirection(model, context.weights, random);
  const d2 = options.dimensions === 2 ? filterNormalizedDirection(model, context.weights, random) : undefined;
  // Rounded to 12 decimals, so a grid reads 0.2 rather than 0.19999999999999996.
  const axis = linspace(-options.range, options.range, options.points).map((v) => Math.round(v * 1e12) / 1e12 + 0);
  const points = options.dimensions === 2 ? gridPoints(axis, axis) : axis.map((alpha) => ({ alpha, beta: 0 }));
  const rows = fixedBatch(context.data.train, context.data.examples);
  // surface.onnx takes its data in the graph's own float type.
  const inDtype = (values: Float32Array) => (dtype === 'float64' ? Float64Array.from(values) : values);
  const batch = { x: inDtype(rows.x), target: rows.target instanceof BigInt64Array ? rows.target : inDtype(rows.target), count: rows.count };
  const evaluator = await surfaceEvaluator(model, context.weights, d1, d2, { ...context.runtime, dtype });
  try {
    const values = await evaluator.evaluate(points, batch);
    const common = {
      ...header(context, 'landscape'),
      dtype,
      dtype_reason: reason,
      dimensions: options.dimensions,
      directions: `seeded (--seed ${context.seed}) normal directions, filter-normalized per output row/channel to the weights' filter norms; biases and 1-D parameters are not perturbed`,
      loss: values.loss[points.findIndex((p) => p.alpha === 0 && p.beta === 0)] ?? null,
      alpha: axis,
    };
    if (options.dimensions === 1) return { ...common, train_loss: values.loss, ...(values.accuracy ? { train_accuracy: values.accuracy } : {}) };
    // gridPoints runs α fastest: row i is β = axis[i].
    const byBeta = (flat: number[]) => axis.map((_, i) => flat.slice(i * axis.length, (i + 1) * axis.length));
    return { ...common, beta: axis, train_loss_grid: byBeta(values.loss), grid_layout: 'train_loss_grid[i][j] is the loss at (alpha[j], beta[i])' };
  } finally {
    await evaluator.release();
  }
}
