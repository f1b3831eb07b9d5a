import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hutchinsonTrace, lanczos, spectralDensity, type LinearOperator } from '../../src/analysis/lanczos.ts';
import { Random } from '../../src/util/random.ts';

/** A = Q diag(eigenvalues) Q^T with a seeded random orthogonal Q (Gram-Schmidt of normal columns). */
function knownOperator(eigenvalues: number[], seed = 1): { apply: LinearOperator; size: number; q: Float64Array[] } {
  const n = eigenvalues.length;
  const random = new Random(seed);
  const q: Float64Array[] = [];
  for (let c = 0; c < n; c++) {
    const v = random.fillNormal(new Float64Array(n));
    for (const u of q) {
      const d = v.reduce((s, x, i) => s + x * u[i]!, 0);
      for (let i = 0; i < n; i++) v[i]! -= d * u[i]!;
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  const apply: LinearOperator = async (v) => {
    const out = new Float64Array(n);
    q.forEach((u, c) => {
      const d = eigenvalues[c]! * u.reduce((s, x, i) => s + x * v[i]!, 0);
      for (let i = 0; i < n; i++) out[i]! += d * u[i]!;
    });
    return out;
  };
  return { apply, size: n, q };
}

describe('Lanczos with full reorthogonalization', () => {
  const eigenvalues = Array.from({ length: 60 }, (_, i) => (i < 5 ? [50, 40, -45, 30, 25][i]! : Math.sin(i) * 5));

  it('finds the top 4 eigenvalues of a known matrix, separating +50 from -45 where power iteration swings', async () => {
    const { apply, size, q } = knownOperator(eigenvalues);
    const run = await lanczos(apply, size, { k: 4, tolerance: 1e-8, random: new Random(2), steps: 60 });
    assert.ok(run.converged);
    const top = [...eigenvalues].sort((a, b) => b - a).slice(0, 4);
    run.ritzValues.slice(0, 4).forEach((theta, i) => assert.ok(Math.abs(theta - top[i]!) <= 1e-7 * Math.abs(top[i]!), `${theta} vs ${top[i]}`));
    assert.ok(Math.abs(run.ritzValues.at(-1)! - -45) < 1e-6, 'the most negative one too');
    // The top Ritz vector is the eigenvector of 50 (up to sign).
    const overlap = Math.abs(run.topVector.reduce((s, x, i) => s + x * q[0]![i]!, 0));
    assert.ok(overlap > 1 - 1e-8, `overlap ${overlap}`);
    assert.ok(run.steps < 60, `stopped early at ${run.steps}`);
  });

  it('stops as soon as the top one meets a loose tolerance, and says so when the budget runs out', async () => {
    const { apply, size } = knownOperator(eigenvalues);
    const loose = await lanczos(apply, size, { k: 1, tolerance: 1e-3, random: new Random(2), steps: 60, checkEvery: 1 });
    const tight = await lanczos(apply, size, { k: 1, tolerance: 1e-12, random: new Random(2), steps: 60, checkEvery: 1 });
    assert.ok(loose.converged && loose.steps < tight.steps, `${loose.steps} vs ${tight.steps}`);
    assert.ok(Math.abs(loose.ritzValues[0]! - 50) <= 1e-3 * 50 * 10);
    const short = await lanczos(apply, size, { k: 5, tolerance: 1e-12, random: new Random(2), steps: 4 });
    assert.equal(short.converged, false);
    assert.equal(short.steps, 4);
  });

  it('estimates the trace by Hutchinson within a few standard errors, and the density integrates to 1 with its mass where the eigenvalues are', async () => {
    const { apply, size } = knownOperator(eigenvalues);
    const exact = eigenvalues.reduce((a, b) => a + b, 0);
    const estimate = await hutchinsonTrace(apply, size, { samples: 400, random: new Random(5) });
    assert.ok(Math.abs(estimate.trace - exact) < 4 * estimate.standardError, `${estimate.trace} ± ${estimate.standardError} vs ${exact}`);
    assert.ok(estimate.standardError > 0 && estimate.standardError < 10);

    const density = await spectralDensity(apply, size, { runs: 4, steps: 60, random: new Random(6), gridPoints: 2000 });
    const dx = density.grid[1]! - density.grid[0]!;
    const mass = density.density.reduce((a, b) => a + b, 0) * dx;
    assert.ok(Math.abs(mass - 1) < 0.01, `mass ${mass}`);
    density.weights.forEach((w) => assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-9));
    // 55 of 60 eigenvalues lie in [-5, 5]: most of the mass must be there.
    const inside = density.grid.reduce((s, t, i) => s + (Math.abs(t) <= 5.5 ? density.density[i]! * dx : 0), 0);
    assert.ok(inside > 0.8, `mass in [-5.5, 5.5]: ${inside}`);
  });
});
