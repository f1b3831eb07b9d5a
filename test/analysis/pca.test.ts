import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Matrix, SVD } from 'ml-matrix';
import { pca } from '../../src/analysis/pca.ts';
import { Random } from '../../src/util/random.ts';

/** Unit vectors e1, e2 spanning a random plane of R^size, orthonormalized. */
function randomPlane(size: number, random: Random): [Float64Array, Float64Array] {
  const a = random.fillNormal(new Float64Array(size));
  const b = random.fillNormal(new Float64Array(size));
  const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, i) => s + x * v[i]!, 0);
  const e1 = a.map((x) => x / norm(a));
  const projected = b.map((x, i) => x - dot(b, e1) * e1[i]!);
  return [e1, projected.map((x) => x / norm(projected))];
}

describe('pca', () => {
  const size = 3000;
  const random = new Random(7);
  const [e1, e2] = randomPlane(size, random);
  const offset = random.fillNormal(new Float64Array(size));
  // 8 trajectories of 9 points in the plane: coordinates with variance 9 along e1 and 1 along e2, plus tiny noise off the plane.
  const coordinates: [number, number][] = [];
  const points: Float64Array[] = [];
  for (let run = 0; run < 8; run++) {
    for (let t = 0; t < 9; t++) {
      const c: [number, number] = [3 * random.normal(), random.normal()];
      coordinates.push(c);
      points.push(Float64Array.from({ length: size }, (_, j) => offset[j]! + c[0] * e1[j]! + c[1] * e2[j]! + 1e-6 * random.normal()));
    }
  }
  const result = pca(points, 2);

  it('recovers a known plane embedded in 3,000 dimensions', () => {
    const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, i) => s + x * v[i]!, 0);
    for (const axis of result.components) {
      assert.ok(Math.abs(dot(axis, axis) - 1) < 1e-9, 'unit axes');
      // Each axis lies in the plane: its projection on span(e1, e2) has norm 1.
      const inPlane = Math.hypot(dot(axis, e1), dot(axis, e2));
      assert.ok(Math.abs(inPlane - 1) < 1e-9, `axis in the plane (${inPlane})`);
    }
    assert.ok(Math.abs(dot(result.components[0]!, result.components[1]!)) < 1e-9, 'orthogonal');
    // All the variance is in the plane.
    const ratio = result.explainedVarianceRatio;
    assert.ok(ratio[0]! + ratio[1]! > 1 - 1e-9, `explained ${ratio}`);
    // The explained variance equals the sample variance of the coordinates along each axis.
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const variance = (values: number[]) => values.reduce((s, v) => s + (v - mean(values)) ** 2, 0) / (values.length - 1);
    const scores0 = result.scores.map((s) => s[0]!);
    assert.ok(Math.abs(variance(scores0) - result.explainedVariance[0]!) < 1e-9 * result.explainedVariance[0]!);
    assert.ok(result.explainedVariance[0]! > 5 && result.explainedVariance[1]! < 2, `variances ${result.explainedVariance}`);
  });

  it('matches an SVD of the centred matrix (ml-matrix)', () => {
    const centred = new Matrix(points.map((p) => Array.from(p, (v, j) => v - result.mean[j]!)));
    const svd = new SVD(centred, { autoTranspose: true });
    const singular = svd.diagonal;
    for (let k = 0; k < 2; k++) {
      const expected = singular[k]! ** 2 / (points.length - 1);
      assert.ok(Math.abs(result.explainedVariance[k]! - expected) < 1e-9 * expected, `component ${k}: ${result.explainedVariance[k]} vs ${expected}`);
      // Scores are U S: equal up to the sign of each component.
      const u = svd.leftSingularVectors.getColumn(k).map((v) => v * singular[k]!);
      const sign = Math.sign(u[0]!) * Math.sign(result.scores[0]![k]!);
      u.forEach((v, i) => assert.ok(Math.abs(v * sign - result.scores[i]![k]!) < 1e-7 * singular[k]!, `score ${i}, ${k}`));
    }
    const total = singular.reduce((s, v) => s + v * v, 0) / (points.length - 1);
    assert.ok(Math.abs(result.totalVariance - total) < 1e-9 * total);
  });

  it('repeats exactly, signs included, and refuses too few points', () => {
    const again = pca(points, 2);
    assert.deepEqual(again.scores, result.scores);
    assert.throws(() => pca([points[0]!]), /at least 2 points/);
  });
});
