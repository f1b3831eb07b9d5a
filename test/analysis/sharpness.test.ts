import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lanczos, type LinearOperator } from '../../src/analysis/lanczos.ts';
import { blockDiagonalTop, epsilonBallMaximum, quadraticSharpness } from '../../src/analysis/sharpness.ts';
import { Random } from '../../src/util/random.ts';

/** A symmetric 4 x 4 matrix: blocks [0,1] and [2,3] coupled by c. */
const matrix = (c: number) => [
  [3, 1, c, 0],
  [1, 2, 0, c],
  [c, 0, 1, 0.5],
  [0, c, 0.5, 4],
];
const operatorOf = (a: number[][]): LinearOperator => async (v) => Float64Array.from(a, (row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
const layout = [
  { name: 'a', shape: [2], offset: 0, size: 2 },
  { name: 'b', shape: [2], offset: 2, size: 2 },
];

describe('sharpness', () => {
  it('is lambda eps^2 / (2 (1 + L)) by the slides\' formula', () => {
    assert.ok(Math.abs(quadraticSharpness(200, 0.25, 1e-4) - 8e-7) < 1e-20);
  });

  it('finds each block\'s top eigenvalue; the block-diagonal maximum misses the coupling the full Hessian has', async () => {
    const coupled = operatorOf(matrix(2));
    const blocks = await blockDiagonalTop(coupled, layout, { tolerance: 1e-10, steps: 2, random: new Random(1) });
    // [[3,1],[1,2]]: (5 + sqrt 5) / 2; [[1,.5],[.5,4]]: (5 + sqrt 10) / 2.
    assert.ok(Math.abs(blocks.blocks[0]!.top - (5 + Math.sqrt(5)) / 2) < 1e-10);
    assert.ok(Math.abs(blocks.blocks[1]!.top - (5 + Math.sqrt(10)) / 2) < 1e-10);
    assert.equal(blocks.max, blocks.blocks[1]!.top);
    const full = await lanczos(coupled, 4, { k: 1, tolerance: 1e-12, steps: 4, random: new Random(2) });
    assert.ok(full.ritzValues[0]! > blocks.max + 0.5, `full ${full.ritzValues[0]} vs blocks ${blocks.max}`);
    const uncoupled = await blockDiagonalTop(operatorOf(matrix(0)), layout, { tolerance: 1e-10, steps: 2, random: new Random(1) });
    const exact = await lanczos(operatorOf(matrix(0)), 4, { k: 1, tolerance: 1e-12, steps: 4, random: new Random(2) });
    assert.ok(Math.abs(uncoupled.max - exact.ritzValues[0]!) < 1e-9, 'equal without coupling');
  });

  it('maximizes the loss in the eps-ball: lambda eps^2 / 2 on a quadratic, from a random start too; above it once a cubic term matters', async () => {
    const a = matrix(2);
    const lambda = (await lanczos(operatorOf(a), 4, { k: 1, tolerance: 1e-12, steps: 4, random: new Random(2) })).ritzValues[0]!;
    const quadratic = async (t: Float64Array) => {
      const at = a.map((row) => row.reduce((s, x, j) => s + x * t[j]!, 0));
      return { loss: 0.5 * at.reduce((s, x, i) => s + x * t[i]!, 0), gradient: Float64Array.from(at) };
    };
    for (const epsilon of [1e-4, 1e-2]) {
      const result = await epsilonBallMaximum(quadratic, new Float64Array(4), { epsilon, steps: 200, random: new Random(3), lambdaMax: lambda });
      assert.ok(Math.abs(result.rise / result.quadraticRise! - 1) < 1e-6, `eps ${epsilon}: ${result.rise} vs ${result.quadraticRise}`);
      assert.ok(Math.abs(result.radiusUsed - 1) < 1e-9, 'on the sphere');
      assert.equal(result.sharpness, result.rise / 1);
    }
    // L = quadratic + 8 t0^3: at eps = 0.5 the cubic term adds to the rise along +e0's side.
    const cubic = async (t: Float64Array) => {
      const q = await quadratic(t);
      q.gradient[0]! += 24 * t[0]! ** 2;
      return { loss: q.loss + 8 * t[0]! ** 3, gradient: q.gradient };
    };
    const big = await epsilonBallMaximum(cubic, new Float64Array(4), { epsilon: 0.5, steps: 300, random: new Random(4), lambdaMax: lambda });
    assert.ok(big.rise > big.quadraticRise! * 1.2, `${big.rise} vs ${big.quadraticRise}`);
  });
});
