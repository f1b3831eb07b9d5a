import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { combineRounds, pairedRatio, type BenchResult } from '../../bench/result.ts';

function bench(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { encoding: 'utf8', cwd: process.cwd() });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

describe('npm run bench', () => {
  it('rejects an unknown workload in --only with one line and exit code 2, before running any workload', () => {
    const { code, stdout, stderr } = bench('--only', 'B9');
    assert.equal(code, 2, `exit code (stderr: ${stderr})`);
    assert.equal(stderr.split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, /unknown workload "B9" in --only \(known: B1, B2, B3, B4, B5, B6, B7\)/);
    assert.equal(stdout, '');
  });
});

describe('rounds of a workload', () => {
  const result = (implementation: 'pytorch' | 'hw1-onnx', times: number[], peakRssMb: number): BenchResult => ({
    name: 'B2',
    implementation,
    description: '',
    timed: '',
    seconds: [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!,
    min: Math.min(...times),
    times,
    peakRssMb,
    quality: { name: 'test accuracy', value: 0.9 },
    threads: 2,
    dtype: 'float32',
    repeats: times.length,
    versions: {},
  });

  it('pool every timed run for the median and minimum, and keep the largest peak RSS', () => {
    const combined = combineRounds([result('hw1-onnx', [10, 12, 11], 500), result('hw1-onnx', [14, 13, 15], 520)]);
    assert.deepEqual(combined.times, [10, 12, 11, 14, 13, 15]);
    assert.equal(combined.seconds, 12.5);
    assert.equal(combined.min, 10);
    assert.equal(combined.peakRssMb, 520);
    assert.equal(combined.repeats, 6);
  });

  it("compare by the median of each round's own ratio, which a drifting machine moves less", () => {
    // The machine slows down by half in the second round and speeds up in the third: each round's ratio is 0.8.
    const pytorch = [result('pytorch', [10], 0), result('pytorch', [15], 0), result('pytorch', [8], 0)];
    const ours = [result('hw1-onnx', [8], 0), result('hw1-onnx', [12], 0), result('hw1-onnx', [6.4], 0)];
    assert.ok(Math.abs(pairedRatio(pytorch, ours) - 0.8) < 1e-12);
    assert.throws(() => pairedRatio(pytorch, ours.slice(1)), /3 PyTorch rounds for 2/);
  });

  it('are refused below one, in one line with exit code 2', () => {
    const { code, stdout, stderr } = bench('--rounds', '0');
    assert.equal(code, 2, `exit code (stderr: ${stderr})`);
    assert.match(stderr, /^hw1-onnx bench: --rounds must be a whole number of at least 1, got 0$/);
    assert.equal(stdout, '');
  });
});

