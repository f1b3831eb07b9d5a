import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kendall, spearman, summarizeGradNorm } from '../../src/analysis/curves.ts';

describe('gradient-norm curve summaries', () => {
  it('find the peak, the plateaus and the relation between gradient norm and progress', () => {
    // 400 steps: a plateau (loss 1, small gradient) for 200, then a drop with a large gradient, then flat again.
    const loss = Array.from({ length: 400 }, (_, i) => (i < 200 ? 1 : i < 300 ? 1 - 0.009 * (i - 200) : 0.1));
    const gradNorm = Array.from({ length: 400 }, (_, i) => (i < 200 ? 0.01 : i < 300 ? 2 + (i === 250 ? 5 : 0) : 0.02));
    const s = summarizeGradNorm(loss, gradNorm, 40);
    assert.deepEqual(s.peak, { step: 251, gradNorm: 7, loss: loss[250] });
    assert.deepEqual(s.laterPeak, s.peak);
    assert.equal(s.windows.length, 40);
    assert.ok(s.flatDrop < 1e-12, 'the flattest quarter is plateau');
    assert.ok(s.flatGradNorm < 0.03 && s.steepGradNorm >= 2, `${s.flatGradNorm} ${s.steepGradNorm}`);
    assert.ok(s.dropCorrelation > 0.8, `rho ${s.dropCorrelation}`);
    // A gradient spike at step 1 is the peak, but not the later peak.
    const early = summarizeGradNorm(loss, gradNorm.map((g, i) => (i === 0 ? 50 : g)), 40);
    assert.equal(early.peak.step, 1);
    assert.equal(early.laterPeak.step, 251);
  });

  it("computes Spearman's rank correlation with ties", () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.ok(Math.abs(spearman([1, 1, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
    assert.ok(Number.isNaN(spearman([1, 1], [2, 3])));
  });

  it('Kendall tau-b: 1 and -1 for monotone pairs, the textbook value with a discordant pair and with ties', () => {
    assert.equal(kendall([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(kendall([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // One swapped pair of six: (5 - 1) / 6.
    assert.ok(Math.abs(kendall([1, 2, 3, 4], [1, 3, 2, 4]) - 4 / 6) < 1e-15);
    // Ties in b: 5 concordant, 0 discordant, 1 tie in b: 5 / sqrt(6 * 5) (tau-b).
    assert.ok(Math.abs(kendall([1, 2, 3, 4], [1, 2, 2, 4]) - 5 / Math.sqrt(30)) < 1e-15);
    assert.ok(Number.isNaN(kendall([1], [1])));
  });
});
