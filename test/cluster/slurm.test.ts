/**
 * `hw1-onnx slurm` against a real one-node Slurm cluster that the test
 * starts and stops (test/cluster/slurmCluster.ts): a 2-task quick-profile
 * array of 1-1-function and its report, one task cancelled mid-way, the same
 * command again, and the result compared with a single-machine run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { experiments } from '../../runners/index.ts';
import { inShard } from '../../src/experiments/selection.ts';
import { runPath } from '../../src/experiments/store.ts';
import type { RunResult } from '../../src/experiments/types.ts';
import { SlurmCluster, slurmUnavailable } from './slurmCluster.ts';

const CLI = resolve('bin/hw1-onnx.js');
const EXPERIMENT = '1-1-function';
const SWEEP = [EXPERIMENT, '--profile', 'quick', '--tasks', '2', '--cpus-per-task', '1', '--time', '00:20:00'];

function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...env, FORCE_COLOR: '0' }, cwd });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

/** The same, without blocking the test while it runs (the single-machine reference runs beside the cluster). */
function cliAsync(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, output }));
  });
}

/** A result file without what differs between two identical runs: when they finished and how long they took. */
function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'seconds' && key !== 'finishedAt').map(([key, v]) => [key, withoutTimings(v)]));
  }
  return value;
}

/** report.md without its "Generated <time>" line and with every "seconds" table column emptied. */
function reportWithoutTimings(markdown: string): string {
  let secondsColumns: number[] = [];
  return markdown
    .split('\n')
    .filter((line) => !line.startsWith('Generated '))
    .map((line) => {
      if (!line.startsWith('|')) {
        secondsColumns = [];
        return line;
      }
      const cells = line.split('|');
      if (secondsColumns.length === 0 && !/^\|[\s:-]+\|/.test(line)) secondsColumns = cells.flatMap((cell, i) => (/seconds/.test(cell) ? [i] : []));
      return cells.map((cell, i) => (secondsColumns.includes(i) ? ' - ' : cell)).join('|');
    })
    .join('\n');
}

function jobIds(stdout: string): { array?: string; report: string } {
  const array = /submitted array job (\d+)/.exec(stdout)?.[1];
  const report = /report job (\d+)/.exec(stdout)?.[1];
  assert.ok(report, `job ids in: ${stdout}`);
  return { array, report };
}

const unavailable = slurmUnavailable();

describe('hw1-onnx slurm on a one-node Slurm cluster', { skip: unavailable }, () => {
  let cluster: SlurmCluster | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'hw1-slurm-sweep-'));
  before(async () => {
    cluster = await SlurmCluster.start();
  });
  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs a 2-task array and its report; after a cancelled task the same command submits only the missing shard and completes the plan, equal to one machine', { timeout: 600_000 }, async () => {
    const slurm = cluster!;
    const outDir = join(scratch, 'out');
    // The single-machine reference of the same plan, with the same threads per run (1), meanwhile.
    const reference = cliAsync(['run', EXPERIMENT, '--profile', 'quick', '--threads', '1', '--jobs', '2', '--out', 'reference'], scratch);

    const spec = experiments.find((e) => e.id === EXPERIMENT)!.plan('quick', 1).runs;
    const shard1 = inShard(spec, { index: 1, count: 2 }).map((run) => run.key);
    const finished = (key: string) => existsSync(runPath(outDir, EXPERIMENT, 'quick', 1, key));

    const first = cli(['slurm', ...SWEEP], slurm.env, scratch);
    assert.equal(first.code, 0, first.stderr);
    const ids = jobIds(first.stdout);
    assert.ok(ids.array, first.stdout);
    const script = readFileSync(join(outDir, 'slurm', `${EXPERIMENT}-quick-seed1.sbatch`), 'utf8');
    assert.match(script, /^#SBATCH --array=1-2$/m);

    // Cancel task 1 as soon as it has finished its first run: it still has others to do.
    const deadline = Date.now() + 240_000;
    while (!shard1.some(finished)) {
      assert.ok(Date.now() < deadline, `no run of shard 1 finished in time; queue: ${slurm.queued().join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    slurm.client('scancel', [`${ids.array}_1`]);
    await slurm.waitUntilDone(240_000);

    const states = Object.fromEntries([...slurm.states(ids.array!), ...slurm.states(ids.report)].map((job) => [job.id, job.state]));
    assert.equal(states[`${ids.array}_1`], 'CANCELLED');
    assert.equal(states[`${ids.array}_2`], 'COMPLETED');
    assert.notEqual(states[ids.report], 'COMPLETED', 'the report waits for a successful array');
    assert.ok(!existsSync(join(outDir, 'report.md')), 'the report job did not run');
    const missing = spec.map((run) => run.key).filter((key) => !finished(key));
    assert.ok(missing.length > 0 && missing.every((key) => shard1.includes(key)), `missing after the cancel: ${missing.join(', ')}`);
    const kept = Object.fromEntries(spec.filter((run) => finished(run.key)).map((run) => [run.key, statSync(runPath(outDir, EXPERIMENT, 'quick', 1, run.key)).mtimeMs]));

    // Until the plan is complete, the report names the runs still missing.
    const partial = cli(['report', '--profile', 'quick', '--out', 'out'], slurm.env, scratch);
    assert.equal(partial.code, 0, partial.stderr);
    const partialReport = readFileSync(join(outDir, 'report.md'), 'utf8');
    assert.match(partialReport, new RegExp(`${spec.length - missing.length} of ${spec.length} runs finished\\. Missing: ${missing.map((key) => `\`${key}\``).join(', ')}`));

    // The same command again: only shard 1 has runs left.
    const second = cli(['slurm', ...SWEEP], slurm.env, scratch);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`${spec.length - missing.length} finished, ${missing.length} to do in 1 of 2 shards \\(--array=1,`));
    const again = jobIds(second.stdout);
    assert.match(readFileSync(join(outDir, 'slurm', `${EXPERIMENT}-quick-seed1.sbatch`), 'utf8'), /^#SBATCH --array=1$/m);
    await slurm.waitUntilDone(300_000);
    assert.deepEqual(
      [...slurm.states(again.array!), ...slurm.states(again.report)].map((job) => job.state),
      ['COMPLETED', 'COMPLETED'],
    );
    const log = readFileSync(join(outDir, 'slurm', 'logs', `hw1-onnx-${EXPERIMENT}-quick-seed1-${again.array}_1.out`), 'utf8');
    assert.match(log, new RegExp(`${missing.length} run\\(s\\) executed, ${shard1.length - missing.length} skipped as finished`));
    for (const [key, mtime] of Object.entries(kept)) assert.equal(statSync(runPath(outDir, EXPERIMENT, 'quick', 1, key)).mtimeMs, mtime, `${key} was not redone`);

    // Every run and the report, equal to those of one machine.
    const { code, output } = await reference;
    assert.equal(code, 0, output);
    const referenceDir = join(scratch, 'reference');
    const referenceReport = cli(['report', '--profile', 'quick', '--seed', '1', '--out', 'reference'], process.env, scratch);
    assert.equal(referenceReport.code, 0, referenceReport.stderr);
    for (const run of spec) {
      const ours = JSON.parse(readFileSync(runPath(outDir, EXPERIMENT, 'quick', 1, run.key), 'utf8')) as RunResult;
      const theirs = JSON.parse(readFileSync(runPath(referenceDir, EXPERIMENT, 'quick', 1, run.key), 'utf8')) as RunResult;
      assert.equal(ours.status, 'completed');
      assert.deepEqual(withoutTimings(ours), withoutTimings(theirs), `${run.key}: the cluster's result equals the single machine's`);
      const weights = (dir: string) => readFileSync(join(dir, EXPERIMENT, 'runs', 'quick-seed1', ours.weights));
      assert.ok(weights(outDir).equals(weights(referenceDir)), `${run.key}: the same weights, bit for bit`);
    }
    const results = (dir: string) => withoutTimings(JSON.parse(readFileSync(join(dir, EXPERIMENT, 'results.json'), 'utf8')));
    assert.deepEqual(results(outDir), results(referenceDir));
    const charts = readdirSync(join(referenceDir, EXPERIMENT)).filter((name) => name.endsWith('.png'));
    assert.ok(charts.length > 0);
    for (const chart of charts) assert.ok(readFileSync(join(outDir, EXPERIMENT, chart)).equals(readFileSync(join(referenceDir, EXPERIMENT, chart))), `${chart} is the same picture`);
    const finalReport = readFileSync(join(outDir, 'report.md'), 'utf8');
    assert.match(finalReport, new RegExp(`${spec.length} of ${spec.length} runs finished\\.`));
    assert.equal(reportWithoutTimings(finalReport), reportWithoutTimings(readFileSync(join(referenceDir, 'report.md'), 'utf8')));
    assert.ok(existsSync(join(outDir, 'report.html')));
  });
});

