import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

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
