/**
 * Principal component analysis of a few points in a huge space: weight
 * snapshots (tens of them) of a network (up to millions of parameters). The
 * P x P covariance would not fit in memory (269,322² doubles is 580 GB), so
 * it goes through the n x n Gram matrix of the centred points instead: if
 * X X^T = U Λ U^T, the principal axes are X^T u_k / sqrt(λ_k) and the scores
 * u_k sqrt(λ_k). Float64 throughout.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

export interface PcaResult {
  /** The mean point, subtracted before the analysis. */
  mean: Float64Array;
  /** Unit principal axes, each of the points' length, largest variance first. */
  components: Float64Array[];
  /** Each point's coordinates on the axes: scores[i][k]. */
  scores: number[][];
  /** Variance along each axis (divided by n - 1, as numpy's and scikit-learn's). */
  explainedVariance: number[];
  /** Its share of the total variance. */
  explainedVarianceRatio: number[];
  totalVariance: number;
}

/** The first `components` principal axes of `points` (rows of equal length). */
export function pca(points: readonly ArrayLike<number>[], components = 2): PcaResult {
  const n = points.length;
  if (n < 2) throw new Error(`pca: needs at least 2 points, got ${n}`);
  const size = points[0]!.length;
  if (points.some((p) => p.length !== size)) throw new Error('pca: the points differ in length');
  const mean = new Float64Array(size);
  for (const point of points) for (let j = 0; j < size; j++) mean[j]! += point[j]!;
  for (let j = 0; j < size; j++) mean[j]! /= n;
  const centred = points.map((point) => Float64Array.from({ length: size }, (_, j) => point[j]! - mean[j]!));
  const gram = new Matrix(n, n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let dot = 0;
      const x = centred[a]!;
      const y = centred[b]!;
      for (let j = 0; j < size; j++) dot += x[j]! * y[j]!;
      gram.set(a, b, dot);
      gram.set(b, a, dot);
    }
  }
  const decomposition = new EigenvalueDecomposition(gram, { assumeSymmetric: true });
  const order = decomposition.realEigenvalues.map((value, index) => ({ value: Math.max(0, value), index })).sort((p, q) => q.value - p.value);
  const total = order.reduce((sum, e) => sum + e.value, 0);
  const kept = order.slice(0, Math.min(components, n - 1));
  const vectors = decomposition.eigenvectorMatrix;
  const result: PcaResult = { mean, components: [], scores: points.map(() => []), explainedVariance: [], explainedVarianceRatio: [], totalVariance: total / (n - 1) };
  for (const { value, index } of kept) {
    let u = vectors.getColumn(index);
    // scikit-learn's sign rule (svd_flip): the largest |entry| of each u is positive, so runs repeat exactly.
    const largest = u.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
    if (largest < 0) u = u.map((v) => -v);
    const scale = Math.sqrt(value);
    const axis = new Float64Array(size);
    if (scale > 0) for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) axis[j]! += (u[i]! * centred[i]![j]!) / scale;
    result.components.push(axis);
    u.forEach((v, i) => result.scores[i]!.push(v * scale));
    result.explainedVariance.push(value / (n - 1));
    result.explainedVarianceRatio.push(total > 0 ? value / total : 0);
  }
  return result;
}
