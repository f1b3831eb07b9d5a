import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../../src/util/random.ts';

describe('Random.fillNormal', () => {
  it('draws standard normals: mean 0, variance 1, 68% within one sigma (100,001 draws, odd length)', () => {
    const values = new Random(7).fillNormal(new Float64Array(100_001));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    const withinOne = values.filter((v) => Math.abs(v) < 1).length / values.length;
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
    assert.ok(Math.abs(withinOne - 0.6827) < 0.005, `within one sigma ${withinOne}`);
    assert.ok(Number.isFinite(values[100_000]!) && values[100_000] !== 0, 'the last (unpaired) element is filled');
  });

  it('gives the same values for the same seed and different ones for another', () => {
    const a = new Random(3).fillNormal(new Float64Array(9));
    assert.deepEqual(new Random(3).fillNormal(new Float64Array(9)), a);
    assert.notDeepEqual(new Random(4).fillNormal(new Float64Array(9)), a);
  });
});
