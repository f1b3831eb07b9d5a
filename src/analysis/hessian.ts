/**
 * The Hessian of the mean loss with respect to all parameters, seen through
 * exact Hessian-vector products (hvp.onnx, double backward): the full matrix
 * for small models (HW1 1-2, minimal ratio), and the eigenvalue of largest
 * magnitude by power iteration for any size (HW1 1-3, sharpness).
 *
 * Parameters are flattened in the model's parameter order (model.parameters),
 * each row-major in its PyTorch layout: index i of a vector or of a Hessian
 * row is parameterLayout(model)[k].offset + j for element j of parameter k.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type * as ort from 'onnxruntime-node';
import type { Model } from '../nn/model.ts';
import { parameterSize } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import type { Graph } from '../ir/graph.ts';
import { hessianGraph, MAX_FULL_HESSIAN_PARAMETERS, powerIterationGraph } from '../programs/hessianLoops.ts';
import { directionInputName, hvpGraph } from '../programs/secondOrder.ts';
import { createSession, type RuntimeOptions } from '../runtime/session.ts';
import { scalarOf, tensorOf } from '../runtime/tensors.ts';
import { Random } from '../util/random.ts';

/** A batch: x row-major [N, ...inputShape]; target class indices [N] or regression targets [N, outputs]. */
export interface HessianData {
  x: ArrayLike<number>;
  target: ArrayLike<number> | BigInt64Array;
}

export interface HessianOperatorOptions extends RuntimeOptions {
  /** float64 (default) where onnxruntime has the kernels: MLPs do; Conv does not. */
  dtype?: FloatType;
}

/** v -> H v for the Hessian H of the mean loss at fixed weights and data. */
export interface HessianOperator {
  readonly model: Model;
  /** What the programs compute in: a float32 Hessian is symmetric, and its eigenvalues resolved, only to float32's round-off. */
  readonly dtype: FloatType;
  /** The parameter count P: vectors have this length. */
  readonly size: number;
  /** Mean loss at the weights (from the first product; NaN before any). */
  readonly loss: number;
  /** Number of Hessian-vector products computed so far. */
  readonly products: number;
  apply(v: ArrayLike<number>): Promise<Float64Array>;
  /** All P columns H e_i in one hessian.onnx run (forward and backward once): row-major P x P. */
  columns(): Promise<Float64Array>;
  /** Power iteration from `start` in one power_iteration.onnx run (forward and backward once). */
  powerIteration(start: ArrayLike<number>, iterations: number, tolerance: number): Promise<PowerIterationRun>;
  release(): Promise<void>;
}

/** What power_iteration.onnx returns, one entry per product in the arrays. */
export interface PowerIterationRun {
  eigenvalue: number;
  vector: Float64Array;
  estimates: Float64Array;
  /** ||H v - lambda v|| / |lambda| for the returned pair. */
  relativeResidual: number;
  relativeChanges: Float64Array;
  /** The residual after each product: the stop test. */
  relativeResiduals: Float64Array;
  productNorms: Float64Array;
}

export interface ParameterSlice {
  name: string;
  shape: readonly number[];
  offset: number;
  size: number;
}

export function parameterLayout(model: Model): ParameterSlice[] {
  let offset = 0;
  return model.parameters.map((p) => {
    const slice = { name: p.name, shape: p.shape, offset, size: parameterSize(p) };
    offset += slice.size;
    return slice;
  });
}

/**
 * The weights and the batch fed once, for three programs opened on first use:
 * apply() is one hvp.onnx run, columns() one hessian.onnx run, and
 * powerIteration() one power_iteration.onnx run.
 */
export async function hessianOperator(
  model: Model,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  data: HessianData,
  options: HessianOperatorOptions = {},
): Promise<HessianOperator> {
  const dtype = options.dtype ?? 'float64';
  const layout = parameterLayout(model);
  const size = model.parameterCount;
  const typed = (values: ArrayLike<number>) => (dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));

  const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  const batch = data.x.length / inputSize;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`hessian of ${model.name}: x has ${data.x.length} values, not a whole number of inputs of shape [${model.inputShape}]`);
  }
  const feeds: Record<string, ort.Tensor> = { x: tensorOf(dtype, typed(data.x), [batch, ...model.inputShape]) };
  if (model.task === 'classification') {
    const labels = data.target instanceof BigInt64Array ? data.target : BigInt64Array.from(Array.from(data.target as ArrayLike<number>, (c) => BigInt(c)));
    if (labels.length !== batch) throw new Error(`hessian of ${model.name}: ${labels.length} labels for ${batch} inputs`);
    feeds.target = tensorOf('int64', labels, [batch]);
  } else {
    const width = model.outputShape[0]!;
    if (data.target instanceof BigInt64Array || data.target.length !== batch * width) {
      throw new Error(`hessian of ${model.name}: regression targets must be ${batch} x ${width} numbers`);
    }
    feeds.target = tensorOf(dtype, typed(data.target), [batch, width]);
  }
  for (const slice of layout) {
    const values = weights.get(slice.name);
    if (!values || values.length !== slice.size) {
      throw new Error(`hessian of ${model.name}: weights for ${slice.name} are ${values ? `of size ${values.length}` : 'missing'}, expected [${slice.shape}]`);
    }
    feeds[slice.name] = tensorOf(dtype, typed(values), slice.shape);
  }

  // One session per program, opened on first use: most callers need only one of them.
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const program = (name: string, build: () => Graph) => {
    if (!sessions.has(name)) sessions.set(name, createSession(serializeGraph(build()), options));
    return sessions.get(name)!;
  };
  const floats = (tensor: ort.Tensor | undefined) => Float64Array.from(tensor!.data as Float64Array | Float32Array);
  const fetches = ['loss', ...layout.map((slice) => `hvp.${slice.name}`)];
  let loss = Number.NaN;
  let products = 0;
  return {
    model,
    dtype,
    size,
    get loss() {
      return loss;
    },
    get products() {
      return products;
    },
    async apply(v) {
      if (v.length !== size) throw new Error(`hessian of ${model.name}: a vector of length ${v.length}, expected ${size}`);
      for (const slice of layout) {
        const part = dtype === 'float64' ? new Float64Array(slice.size) : new Float32Array(slice.size);
        for (let j = 0; j < slice.size; j++) part[j] = v[slice.offset + j]!;
        feeds[directionInputName(slice.name)] = tensorOf(dtype, part, slice.shape);
      }
      const session = await program('hvp', () => hvpGraph(model, dtype));
      const outputs = await session.run(feeds, fetches);
      const product = new Float64Array(size);
      for (const slice of layout) product.set(outputs[`hvp.${slice.name}`]!.data as Float64Array | Float32Array, slice.offset);
      loss = scalarOf(outputs.loss!);
      products++;
      return product;
    },
    async columns() {
      const session = await program('hessian', () => hessianGraph(model, dtype));
      const outputs = await session.run(modelFeeds(feeds), ['loss', 'hessian']);
      loss = scalarOf(outputs.loss!);
      products += size;
      return floats(outputs.hessian);
    },
    async powerIteration(start, iterations, tolerance) {
      if (start.length !== size) throw new Error(`hessian of ${model.name}: a start vector of length ${start.length}, expected ${size}`);
      if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`power iteration: iterations must be a whole number >= 1, got ${iterations}`);
      const session = await program('power_iteration', () => powerIterationGraph(model, dtype));
      const outputs = await session.run({
        ...modelFeeds(feeds),
        v0: tensorOf(dtype, typed(start), [size]),
        iterations: tensorOf('int64', BigInt64Array.of(BigInt(iterations)), []),
        tolerance: tensorOf(dtype, typed([tolerance]), []),
      });
      loss = scalarOf(outputs.loss!);
      const estimates = floats(outputs.estimates);
      const relativeResiduals = floats(outputs.relative_residuals);
      products += estimates.length;
      return {
        eigenvalue: scalarOf(outputs.eigenvalue!),
        vector: floats(outputs.vector),
        estimates,
        relativeResidual: scalarOf(outputs.relative_residual!),
        relativeChanges: floats(outputs.relative_changes),
        relativeResiduals,
        productNorms: floats(outputs.product_norms),
      };
    },
    release: async () => {
      for (const session of sessions.values()) await (await session).release();
    },
  };
}

/** The feeds without the hvp directions (the Loop programs take no v.<param>). */
function modelFeeds(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => !name.startsWith('v.')));
}

export interface FullHessianOptions extends HessianOperatorOptions {
  /** Refuse models with more parameters than this (default 5,000: a 200 MB matrix and 5,000 HVP runs). */
  maxParameters?: number;
  /**
   * Largest accepted max|H_ij - H_ji| / max|H_ij| before symmetrizing
   * (default 1e-10 in float64, 1e-4 in float32): more than round-off means
   * the HVPs are wrong, and averaging would hide it.
   */
  symmetryTolerance?: number;
}

export interface FullHessian {
  /** The symmetrized Hessian (H + H^T) / 2, P x P, in parameterLayout order. */
  matrix: Matrix;
  /** The dtype it was computed in (the operator's). */
  dtype: FloatType;
  parameterCount: number;
  /** Mean loss at the weights. */
  loss: number;
  /** max |H_ij - H_ji| of the raw columns, before symmetrizing. */
  maxAsymmetry: number;
  /** maxAsymmetry / max |H_ij|. */
  relativeAsymmetry: number;
  hvpRuns: number;
  milliseconds: number;
}

export const DEFAULT_MAX_HESSIAN_PARAMETERS = MAX_FULL_HESSIAN_PARAMETERS;

/**
 * The full Hessian of the mean loss at the given weights: column i is H e_i,
 * all P columns in one hessian.onnx run (the forward and backward pass once,
 * then P double-backward passes in an ONNX Loop).
 */
export async function fullHessian(
  model: Model,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  data: HessianData,
  options: FullHessianOptions = {},
): Promise<FullHessian> {
  const limit = options.maxParameters ?? DEFAULT_MAX_HESSIAN_PARAMETERS;
  const size = model.parameterCount;
  if (size > limit) {
    const megabytes = ((size * size * 8) / 2 ** 20).toFixed(0);
    throw new Error(
      `fullHessian: ${model.name} has ${size} parameters, above the limit of ${limit} (the matrix would be ${megabytes} MB and need ${size} HVP runs); ` +
        `raise options.maxParameters, or use topHessianEigenvalue (power iteration with HVPs) for the sharpness`,
    );
  }
  const operator = await hessianOperator(model, weights, data, options);
  try {
    return await hessianFromOperator(operator, { ...options, label: model.name });
  } finally {
    await operator.release();
  }
}

/**
 * The full Hessian from an open Hessian-vector-product operator (column i is
 * H e_i), checked for symmetry and symmetrized. Lets a caller that computes
 * many Hessians keep one session open. The symmetry tolerance follows the
 * operator's dtype.
 */
export async function hessianFromOperator(
  operator: HessianOperator,
  options: { symmetryTolerance?: number; label?: string } = {},
): Promise<FullHessian> {
  const dtype = operator.dtype;
  const tolerance = options.symmetryTolerance ?? (dtype === 'float64' ? 1e-10 : 1e-4);
  const started = performance.now();
  const size = operator.size;
  const values = await operator.columns();
  // values[j * size + i] is (H e_j)_i = H_ij.
  let maxAsymmetry = 0;
  let maxAbs = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(values[j * size + i]!));
      if (j > i) maxAsymmetry = Math.max(maxAsymmetry, Math.abs(values[j * size + i]! - values[i * size + j]!));
    }
  }
  const relativeAsymmetry = maxAbs > 0 ? maxAsymmetry / maxAbs : 0;
  if (!(relativeAsymmetry <= tolerance)) {
    throw new Error(
      `fullHessian: the Hessian of ${options.label ?? 'the model'} is not symmetric to round-off (max |H_ij - H_ji| = ${maxAsymmetry.toExponential(3)}, ` +
        `${relativeAsymmetry.toExponential(3)} of max |H_ij|, tolerance ${tolerance}); the Hessian-vector products are wrong`,
    );
  }
  const matrix = new Matrix(size, size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) matrix.set(i, j, (values[j * size + i]! + values[i * size + j]!) / 2);
  }
  return {
    matrix,
    dtype,
    parameterCount: size,
    loss: operator.loss,
    maxAsymmetry,
    relativeAsymmetry,
    hvpRuns: size,
    milliseconds: performance.now() - started,
  };
}

/** Eigenvalues of a symmetric matrix (ml-matrix's symmetric decomposition), ascending. */
export function hessianEigenvalues(matrix: Matrix | number[][]): Float64Array {
  const m = matrix instanceof Matrix ? matrix : new Matrix(matrix);
  if (!m.isSquare()) throw new Error(`hessianEigenvalues: the matrix is ${m.rows} x ${m.columns}, not square`);
  const decomposition = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  return Float64Array.from(decomposition.realEigenvalues).sort();
}

/** Machine epsilon of each float type: the spacing of numbers near 1. */
export const MACHINE_EPSILON: Record<FloatType, number> = { float32: 2 ** -23, float64: Number.EPSILON };

/**
 * The tolerance below which an eigenvalue counts as zero: max |lambda| * P *
 * epsilon of the dtype the Hessian was computed in, numpy.linalg.matrix_rank's
 * rule (numpy uses the matrix's own dtype too).
 */
export function eigenvalueTolerance(eigenvalues: ArrayLike<number>, dtype: FloatType = 'float64'): number {
  let largest = 0;
  for (let i = 0; i < eigenvalues.length; i++) largest = Math.max(largest, Math.abs(eigenvalues[i]!));
  return largest * eigenvalues.length * MACHINE_EPSILON[dtype];
}

export interface MinimalRatio {
  /**
   * positive / P, the homework's definition (1); null when the dtype cannot
   * resolve the eigenvalues near zero (see `resolved`).
   */
  ratio: number | null;
  /** The range the ratio lies in: [positive, positive + zero] / P. */
  bounds: [number, number];
  positive: number;
  /** |lambda| <= tolerance: indistinguishable from zero in this dtype. */
  zero: number;
  negative: number;
  parameterCount: number;
  tolerance: number;
  dtype: FloatType;
  /**
   * Whether the count is meaningful. In float64 the zero band reaches
   * P * 2.2e-16 of max |lambda|, far below any real curvature, and its
   * members count as zero (the flat directions ReLU networks always have). In
   * float32 it reaches P * 1.2e-7 of max |lambda|, where networks do have
   * real eigenvalues (measured: 1e-9 to 1e-6 of the largest on a 46-parameter
   * ReLU net), so a float32 count is given only when no eigenvalue is in the band.
   */
  resolved: boolean;
  /** Why no ratio, and what to do, when not resolved. */
  note?: string;
}

/**
 * Minimal ratio, the homework's definition (1): the fraction of Hessian
 * eigenvalues greater than zero. An eigenvalue counts as positive only when
 * it is above `tolerance` (absolute; default eigenvalueTolerance for the
 * dtype), so the round-off-sized eigenvalues of the flat directions count as
 * zero, not as positive.
 */
export function minimalRatio(
  eigenvalues: ArrayLike<number>,
  options: { dtype?: FloatType; tolerance?: number } = {},
): MinimalRatio {
  const size = eigenvalues.length;
  if (size === 0) throw new Error('minimalRatio: no eigenvalues');
  const dtype = options.dtype ?? 'float64';
  const tolerance = options.tolerance ?? eigenvalueTolerance(eigenvalues, dtype);
  let positive = 0;
  let negative = 0;
  for (let i = 0; i < size; i++) {
    if (eigenvalues[i]! > tolerance) positive++;
    else if (eigenvalues[i]! < -tolerance) negative++;
  }
  const zero = size - positive - negative;
  const resolved = dtype === 'float64' || zero === 0;
  const result: MinimalRatio = {
    ratio: resolved ? positive / size : null,
    bounds: [positive / size, (positive + zero) / size],
    positive,
    zero,
    negative,
    parameterCount: size,
    tolerance,
    dtype,
    resolved,
  };
  if (!resolved) {
    result.note =
      `${dtype} cannot tell ${zero} of ${size} eigenvalues from zero (|lambda| <= ${tolerance.toExponential(2)}, max |lambda| * P * epsilon), ` +
      `so the ratio is only known to lie in [${positive}/${size}, ${positive + zero}/${size}]; compute the Hessian in float64`;
  }
  return result;
}

export interface PowerIterationOptions {
  /** Most HVPs to spend (default 100). */
  iterations?: number;
  /**
   * Stop when ||H v - lambda v|| / |lambda| falls below this (default 1e-6);
   * then an eigenvalue of H lies within tolerance * |lambda| of the answer.
   */
  tolerance?: number;
  /** Seed of the random (normal) start vector (default 0). */
  seed?: number;
}

/** Why power iteration gave no answer to the tolerance. */
export type PowerIterationProblem =
  /**
   * The largest magnitude belongs to eigenvalues of both signs (+-mu, or
   * nearly): v swings between their eigenvectors and never settles, however
   * many products; `largestMagnitude` is known, the sign is not, so
   * `eigenvalue` is NaN. Lanczos (or power iteration on H + sigma I) separates them.
   */
  | 'opposite-signs'
  /** The two largest magnitudes are close with the same sign: more iterations would converge. */
  | 'budget';

export interface TopEigenvalue {
  /**
   * The eigenvalue of largest magnitude, with its sign (it can be negative);
   * when not converged the last estimate, and NaN for 'opposite-signs'.
   */
  eigenvalue: number;
  /** The largest |eigenvalue|, ||H v|| for the last v (known even for 'opposite-signs'). */
  largestMagnitude: number;
  /** Its unit eigenvector estimate, in parameterLayout order. */
  vector: Float64Array;
  iterations: number;
  /** The relative residual fell below the tolerance: some eigenvalue is within tolerance * |eigenvalue| of it. */
  converged: boolean;
  /** Set when not converged. */
  problem?: PowerIterationProblem;
  /** One line on what went wrong and what to do, when not converged. */
  message?: string;
  /** |lambda_k - lambda_(k-1)| / |lambda_k| at the last iteration. */
  relativeChange: number;
  /** ||H v - lambda v|| / |lambda| for the returned pair: the convergence test. */
  relativeResidual: number;
}

/**
 * Power iteration with Hessian-vector products, as PyHessian: v <- H v / ||H v||
 * from a seeded random start; the estimate is the Rayleigh quotient v^T H v,
 * so it converges to the eigenvalue of largest MAGNITUDE with its sign. The
 * error shrinks like (lambda_2 / lambda_1)^k; `converged` means the residual
 * test passed (the answer is right to the tolerance), never only that the
 * estimate stopped moving. When it did not converge, the run's norms tell
 * why: if v is an eigenvector of H^2 but not of H, the largest magnitude is
 * held by eigenvalues of both signs, which power iteration cannot separate.
 */
export async function topHessianEigenvalue(operator: HessianOperator, options: PowerIterationOptions = {}): Promise<TopEigenvalue> {
  const iterations = options.iterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  const random = new Random(options.seed ?? 0);
  const start = random.fillNormal(new Float64Array(operator.size));
  const run = await operator.powerIteration(start, iterations, tolerance);
  const last = run.estimates.length - 1;
  const zero = run.productNorms[last] === 0;
  // The first product has no previous estimate to compare with.
  const relativeChange = zero ? 0 : last === 0 ? Number.POSITIVE_INFINITY : run.relativeChanges[last]!;
  const relativeResidual = zero ? 0 : run.relativeResidual;
  const result: TopEigenvalue = {
    eigenvalue: run.eigenvalue,
    largestMagnitude: run.productNorms[last]!,
    vector: run.vector,
    iterations: run.estimates.length,
    converged: zero || relativeResidual < tolerance,
    relativeChange,
    relativeResidual,
  };
  if (!result.converged) Object.assign(result, diagnose(run, tolerance));
  return result;
}

/**
 * Why v is not an eigenvector of H to the tolerance, from the run's own
 * numbers (no further products). With n_k = ||H v_k|| and v_(k+1) = H v_k / n_k,
 * ||H^2 v_k|| = n_k n_(k+1) >= v_k^T H^2 v_k = n_k^2, with equality exactly when
 * v_k is an eigenvector of H^2: n_(k+1) / n_k - 1 is about half its squared
 * relative residual. If v is an eigenvector of H^2 (to sqrt(tolerance)) while
 * lambda^2 = (v^T H v)^2 falls short of n^2 by more than that, v mixes
 * eigenvectors of +-n (for v = a u+ + b u-, 1 - lambda^2 / n^2 = 4 a^2 b^2):
 * opposite signs. Otherwise the iteration was too slow for the budget.
 */
function diagnose(run: PowerIterationRun, tolerance: number): Pick<TopEigenvalue, 'eigenvalue' | 'problem' | 'message'> {
  const iterations = run.estimates.length;
  const budget = {
    problem: 'budget' as const,
    message: `power iteration did not converge in ${iterations} products (the two largest |eigenvalues| are close); raise the iterations`,
  };
  if (iterations < 2) return { eigenvalue: run.eigenvalue, ...budget };
  const last = run.productNorms[iterations - 1]!;
  const before = run.productNorms[iterations - 2]!;
  const squaredResidual = Math.sqrt(2 * Math.max(0, last / before - 1));
  const shortfall = 1 - (run.eigenvalue / last) ** 2;
  const bound = Math.sqrt(Math.max(tolerance, Number.EPSILON));
  if (squaredResidual < bound && shortfall > bound) {
    return {
      eigenvalue: Number.NaN,
      problem: 'opposite-signs',
      message:
        `power iteration cannot answer: the largest |eigenvalue| ${last.toPrecision(6)} belongs to eigenvalues of both signs (or nearly), ` +
        `so v swings between them (the Rayleigh quotient ${run.eigenvalue.toPrecision(6)} is a mixture); use Lanczos, or power iteration on H + sigma I`,
    };
  }
  return { eigenvalue: run.eigenvalue, ...budget };
}
