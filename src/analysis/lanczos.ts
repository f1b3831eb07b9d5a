/**
 * Lanczos with full reorthogonalization over any symmetric operator given as
 * v -> A v (here Hessian-vector products): the top-k eigenvalues to a stated
 * relative tolerance, and the quadrature nodes and weights of stochastic
 * Lanczos quadrature (the eigenvalue density of PyHessian, Ghorbani et al.
 * 2019). Unlike power iteration it separates eigenvalues of opposite signs and
 * finds k of them from one Krylov space.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Random } from '../util/random.ts';

export type LinearOperator = (v: Float64Array) => Promise<Float64Array>;

export interface LanczosOptions {
  /** Most products (Krylov dimension), default 100. */
  steps?: number;
  /** The top `k` Ritz values must have converged (default 1). */
  k?: number;
  /** Stop when each of the top k has |beta_m s_m| / |theta| below this (default 1e-3). */
  tolerance?: number;
  /** Start vector (normalized here); a seeded normal one when absent. */
  start?: ArrayLike<number>;
  random?: Random;
  /** Check the Ritz values every this many steps (default 5). */
  checkEvery?: number;
}

export interface LanczosResult {
  /** Ritz values, largest first: the top ones approximate the largest eigenvalues. */
  ritzValues: number[];
  /** |beta_m s_(m,i)| per Ritz value: ||A y - theta y|| for its Ritz vector y (a residual bound, same order). */
  residuals: number[];
  /** The first component of each Ritz value's eigenvector of T, squared: its quadrature weight for the start vector. */
  weights: number[];
  /** Products used (the Krylov dimension m). */
  steps: number;
  /** The top k satisfied the tolerance (or the space became invariant). */
  converged: boolean;
  /** The unit Ritz vector of the largest Ritz value. */
  topVector: Float64Array;
  /** The tridiagonal matrix: alphas on the diagonal, betas beside it. */
  alphas: number[];
  betas: number[];
}

/** m steps of Lanczos from a unit start, each new vector orthogonalized twice against all earlier ones. */
export async function lanczos(apply: LinearOperator, size: number, options: LanczosOptions = {}): Promise<LanczosResult> {
  const maxSteps = Math.min(options.steps ?? 100, size);
  const k = Math.min(options.k ?? 1, maxSteps);
  const tolerance = options.tolerance ?? 1e-3;
  const checkEvery = options.checkEvery ?? 5;
  let v: Float64Array;
  if (options.start) v = Float64Array.from(options.start);
  else if (options.random) v = options.random.fillNormal(new Float64Array(size));
  else throw new Error('lanczos: give a start vector or a seeded Random');
  scale(v, 1 / norm(v));

  const basis: Float64Array[] = [v];
  const alphas: number[] = [];
  const betas: number[] = [];
  let converged = false;
  let result: Omit<LanczosResult, 'steps' | 'converged' | 'topVector' | 'alphas' | 'betas'> & { vectors: Matrix } = { ritzValues: [], residuals: [], weights: [], vectors: new Matrix(0, 0) };
  for (let j = 0; j < maxSteps; j++) {
    const w = await apply(basis[j]!);
    const alpha = dot(w, basis[j]!);
    alphas.push(alpha);
    // Full reorthogonalization (twice: "twice is enough", Parlett): keeps the basis orthogonal in floating point, so no ghost copies of converged eigenvalues.
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot(w, q);
        for (let i = 0; i < size; i++) w[i]! -= c * q[i]!;
      }
    }
    const beta = norm(w);
    const last = j === maxSteps - 1;
    const invariant = beta <= 1e-12 * Math.max(Math.abs(alpha), ...betas.map(Math.abs), Number.MIN_VALUE);
    if (invariant || last || (j + 1) % checkEvery === 0) {
      result = ritz(alphas, betas, invariant ? 0 : beta);
      const top = result.ritzValues.slice(0, k);
      if (invariant || (top.length === k && top.every((theta, i) => result.residuals[i]! <= tolerance * Math.abs(theta)))) {
        converged = true;
        break;
      }
    }
    if (last) break;
    betas.push(beta);
    basis.push(scale(w, 1 / beta));
  }
  const m = alphas.length;
  const topVector = new Float64Array(size);
  for (let j = 0; j < m; j++) {
    const c = result.vectors.get(j, 0);
    for (let i = 0; i < size; i++) topVector[i]! += c * basis[j]![i]!;
  }
  return { ritzValues: result.ritzValues, residuals: result.residuals, weights: result.weights, steps: m, converged, topVector, alphas, betas: betas.slice(0, m - 1) };
}

/** Eigen-decomposition of the m x m tridiagonal T; Ritz values largest first with their residual bounds and weights. */
function ritz(alphas: readonly number[], betas: readonly number[], nextBeta: number) {
  const m = alphas.length;
  const t = new Matrix(m, m);
  for (let i = 0; i < m; i++) {
    t.set(i, i, alphas[i]!);
    if (i + 1 < m) {
      t.set(i, i + 1, betas[i]!);
      t.set(i + 1, i, betas[i]!);
    }
  }
  const eig = new EigenvalueDecomposition(t, { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const order = values.map((_, i) => i).sort((a, b) => values[b]! - values[a]!);
  const vectors = new Matrix(m, m);
  order.forEach((source, target) => {
    for (let r = 0; r < m; r++) vectors.set(r, target, eig.eigenvectorMatrix.get(r, source));
  });
  return {
    ritzValues: order.map((i) => values[i]!),
    residuals: order.map((_, c) => Math.abs(nextBeta * vectors.get(m - 1, c))),
    weights: order.map((_, c) => vectors.get(0, c) ** 2),
    vectors,
  };
}

export interface SpectralDensity {
  /** Where the density is evaluated. */
  grid: number[];
  density: number[];
  /** Every run's nodes (Ritz values) and weights, which the density smooths. */
  nodes: number[][];
  weights: number[][];
  /** The Gaussian's standard deviation. */
  sigma: number;
}

/**
 * Stochastic Lanczos quadrature: `runs` Lanczos runs of `steps` products from
 * Rademacher starts; each gives nodes θ_i and weights τ_i with
 * v^T f(A) v ≈ Σ τ_i f(θ_i), so the density is the average of Σ τ_i N(t; θ_i, σ²).
 * The weights of a run sum to 1, so the density integrates to 1.
 */
export async function spectralDensity(
  apply: LinearOperator,
  size: number,
  options: { runs: number; steps: number; random: Random; gridPoints?: number; sigma?: number },
): Promise<SpectralDensity> {
  const nodes: number[][] = [];
  const weights: number[][] = [];
  for (let r = 0; r < options.runs; r++) {
    const start = rademacher(size, options.random);
    // No early stop: the quadrature needs the whole Krylov space of `steps`.
    const run = await lanczos(apply, size, { steps: options.steps, start, k: options.steps, tolerance: 0, checkEvery: options.steps });
    nodes.push(run.ritzValues);
    weights.push(run.weights);
  }
  const all = nodes.flat();
  const low = Math.min(...all);
  const high = Math.max(...all);
  const span = Math.max(high - low, Math.abs(high), Number.MIN_VALUE);
  const sigma = options.sigma ?? 0.01 * span;
  const count = options.gridPoints ?? 400;
  const grid = Array.from({ length: count }, (_, i) => low - 0.05 * span + ((1.1 * span) * i) / (count - 1));
  const density = grid.map((t) => {
    let sum = 0;
    nodes.forEach((run, r) => run.forEach((theta, i) => (sum += weights[r]![i]! * Math.exp(-((t - theta) ** 2) / (2 * sigma * sigma)))));
    return sum / (options.runs * sigma * Math.sqrt(2 * Math.PI));
  });
  return { grid, density, nodes, weights, sigma };
}

export interface TraceEstimate {
  trace: number;
  /** Standard error of the mean of the samples. */
  standardError: number;
  samples: number;
}

/** Hutchinson's estimator: tr(A) = E[v^T A v] for Rademacher v, averaged over `samples` products. */
export async function hutchinsonTrace(apply: LinearOperator, size: number, options: { samples: number; random: Random }): Promise<TraceEstimate> {
  const values: number[] = [];
  for (let s = 0; s < options.samples; s++) {
    const v = rademacher(size, options.random);
    values.push(dot(v, await apply(v)));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : Number.NaN;
  return { trace: mean, standardError: Math.sqrt(variance / values.length), samples: values.length };
}

export function rademacher(size: number, random: Random): Float64Array {
  return Float64Array.from({ length: size }, () => (random.next() < 0.5 ? -1 : 1));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

function scale(a: Float64Array, factor: number): Float64Array {
  for (let i = 0; i < a.length; i++) a[i]! *= factor;
  return a;
}
