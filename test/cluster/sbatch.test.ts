import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { experiments } from '../../runners/index.ts';
import { defaultShardCount, sweepName, sweepStatus } from '../../src/cluster/plan.ts';
import { arrayRange, arrayScript, checkTimeLimit, reportScript, shellQuote, type ArrayJob } from '../../src/cluster/sbatch.ts';
import { sbatchArguments } from '../../src/cluster/submit.ts';
import { inShard, selectExperiments } from '../../src/experiments/selection.ts';
import { UserError } from '../../src/util/errors.ts';
import { markFinished } from './support/finishedRuns.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-sbatch-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function job(extra: Partial<ArrayJob> = {}): ArrayJob {
  return {
    jobName: 'hw1-onnx-1-1-full-seed3',
    selection: ['1-1'],
    profile: 'full',
    seed: 3,
    ep: 'cpu',
    shardCount: 8,
    shards: [1, 2, 3, 4, 5, 6, 7, 8],
    outDir: '/scratch/me/out',
    logDir: '/scratch/me/out/slurm/logs',
    resources: { cpusPerTask: 3 },
    launcher: { node: '/opt/node/bin/node', cli: '/home/me/hw1 onnx/bin/hw1-onnx.js', workingDir: '/home/me/hw1 onnx' },
    writtenBy: 'hw1-onnx slurm 1-1',
    ...extra,
  };
}

const sbatchLines = (script: string) => script.split('\n').filter((line) => line.startsWith('#SBATCH '));

/**
 * Runs a script with bash as a Slurm task would (SLURM_ARRAY_TASK_ID set), with a
 * stand-in for hw1-onnx that prints its arguments: what the task would run.
 */
function taskArguments(script: string, taskId: number): string[] {
  const stand = join(scratch, 'print-arguments.mjs');
  writeFileSync(stand, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
  const path = join(scratch, `task-${taskId}.sbatch`);
  const launcher = "exec /opt/node/bin/node '/home/me/hw1 onnx/bin/hw1-onnx.js' ";
  assert.ok(script.includes(launcher), script);
  writeFileSync(path, script.replace(launcher, `exec ${shellQuote(process.execPath)} ${shellQuote(stand)} `).replace("cd '/home/me/hw1 onnx'", `cd ${shellQuote(scratch)}`));
  chmodSync(path, 0o755);
  const result = spawnSync('bash', [path], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: String(taskId), SLURM_ARRAY_TASK_COUNT: '99' } });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

describe('the sbatch scripts of hw1-onnx slurm', () => {
  it('the array: one task per shard, C CPUs and C intra-op threads per task, logs per task under the log folder', () => {
    const script = arrayScript(job({ resources: { cpusPerTask: 3, time: '04:00:00', partition: 'short', account: 'course42', mem: '8G' } }));
    assert.deepEqual(sbatchLines(script), [
      '#SBATCH --job-name=hw1-onnx-1-1-full-seed3',
      '#SBATCH --array=1-8',
      '#SBATCH --cpus-per-task=3',
      '#SBATCH --time=04:00:00',
      '#SBATCH --mem=8G',
      '#SBATCH --partition=short',
      '#SBATCH --account=course42',
      '#SBATCH --output=/scratch/me/out/slurm/logs/hw1-onnx-1-1-full-seed3-%A_%a.out',
    ]);
    assert.ok(script.startsWith('#!/bin/bash\n'));
    // Unset resources are left to the cluster: no empty #SBATCH lines.
    assert.deepEqual(sbatchLines(arrayScript(job())).map((line) => line.split('=')[0]), ['#SBATCH --job-name', '#SBATCH --array', '#SBATCH --cpus-per-task', '#SBATCH --output']);
  });

  it('task K runs shard K of N with the flags of the sweep, from the folder it was submitted in', () => {
    const script = arrayScript(job({ dataDir: '/data/cifar', ep: 'cuda' }));
    for (const task of [1, 5, 8]) {
      const args = taskArguments(script, task);
      assert.deepEqual(args, ['run', '1-1', '--profile', 'full', '--seed', '3', '--ep', 'cuda', '--threads', '3', '--out', '/scratch/me/out', '--data-dir', '/data/cifar', '--shard', `${task}/8`]);
    }
    assert.match(script, /^cd '\/home\/me\/hw1 onnx'$/m);
  });

  it('a resubmission\'s array lists only the shards with runs missing, and each task still runs slice K of the same N', () => {
    const script = arrayScript(job({ shards: [2, 5, 6, 7] }));
    assert.match(script, /^#SBATCH --array=2,5-7$/m);
    // SLURM_ARRAY_TASK_COUNT (99 here) is not what N is.
    assert.deepEqual(taskArguments(script, 6).slice(-2), ['--shard', '6/8']);
  });

  it('the report job: report of the same profile, seed and folder, removed rather than left pending when a task fails', () => {
    const script = reportScript(job({ resources: { cpusPerTask: 2, partition: 'short' } }));
    assert.deepEqual(sbatchLines(script), [
      '#SBATCH --job-name=hw1-onnx-1-1-full-seed3-report',
      '#SBATCH --kill-on-invalid-dep=yes',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --partition=short',
      '#SBATCH --output=/scratch/me/out/slurm/logs/hw1-onnx-1-1-full-seed3-report-%j.out',
    ]);
    assert.match(script, /^exec .* report --profile full --seed 3 --out \/scratch\/me\/out$/m);
    assert.doesNotMatch(script, /--shard|--array/);
    // The dependency is given when submitting, once the array's id is known.
    assert.deepEqual(sbatchArguments('r.sbatch', '4711'), ['--parsable', '--dependency=afterok:4711', 'r.sbatch']);
    assert.deepEqual(sbatchArguments('a.sbatch'), ['--parsable', 'a.sbatch']);
  });

  it('quotes words for bash so that they come back as they were', () => {
    for (const word of ['plain', 'with space', "it's", '$HOME', 'a"b', 'back\\slash', '*', '']) {
      const result = spawnSync('bash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' });
      assert.equal(result.stdout, word);
    }
  });

  it('writes array ranges as sbatch takes them', () => {
    assert.equal(arrayRange([1, 2, 3, 4]), '1-4');
    assert.equal(arrayRange([7, 1, 3, 2]), '1-3,7');
    assert.equal(arrayRange([5]), '5');
    assert.equal(arrayRange([1, 3, 5, 6]), '1,3,5-6');
  });

  it('accepts Slurm\'s time limit formats and refuses others in one line', () => {
    for (const ok of ['04:00:00', '90', '30:00', '1-12', '1-12:30', '2-00:00:00']) assert.equal(checkTimeLimit(ok), ok);
    for (const bad of ['4h', '04:00:00:00', '', '1-', 'soon']) assert.throws(() => checkTimeLimit(bad), (e: unknown) => e instanceof UserError && /--time must be a Slurm time limit/.test(e.message));
  });
});

describe('which shards of a sweep still have work', () => {
  it('deals the runs over N shards as run --shard does, leaving out the finished ones and the shards with nothing left', () => {
    const outDir = join(scratch, 'status');
    const selected = selectExperiments(['1-1-function'], experiments);
    const runs = selected[0]!.plan('quick', 1).runs;
    const fresh = sweepStatus(selected, { profile: 'quick', seed: 1, shardCount: 4, outDir });
    assert.equal(fresh.planned, runs.length);
    assert.equal(fresh.finished, 0);
    assert.deepEqual(
      fresh.shards.map((shard) => shard.missing),
      [1, 2, 3, 4].map((index) => inShard(runs, { index, count: 4 }).map((run) => `1-1-function/${run.key}`)),
    );
    // Shard 2 done completely, shard 1 half: only shards 1, 3 and 4 are left, shard 1 with its other run.
    const shard1 = inShard(runs, { index: 1, count: 4 });
    markFinished(outDir, selected[0]!, 'quick', 1, [...inShard(runs, { index: 2, count: 4 }), shard1[0]!].map((run) => run.key));
    const later = sweepStatus(selected, { profile: 'quick', seed: 1, shardCount: 4, outDir });
    assert.deepEqual(later.shards.map((shard) => shard.index), [1, 3, 4]);
    assert.deepEqual(later.shards[0]!.missing, shard1.slice(1).map((run) => `1-1-function/${run.key}`));
    assert.equal(later.finished, inShard(runs, { index: 2, count: 4 }).length + 1);
    // Another seed's plan has nothing finished.
    assert.equal(sweepStatus(selected, { profile: 'quick', seed: 2, shardCount: 4, outDir }).finished, 0);
  });

  it('defaults to 8 shards, or as many as the largest experiment of the selection has runs', () => {
    for (const names of [['all'], ['1-1'], ['1-3-reparametrization'], ['1-2-landscape']]) {
      const selected = selectExperiments(names, experiments);
      const largest = Math.max(...selected.map((e) => e.plan('full', 1).runs.length));
      assert.equal(defaultShardCount(selected, 'full', 1), Math.min(8, largest), names.join(' '));
    }
  });

  it('names a sweep by its selection, profile and seed', () => {
    assert.equal(sweepName(['1-1', '1-2-gradnorm'], 'full', 2), 'hw1-onnx-1-1+1-2-gradnorm-full-seed2');
    assert.notEqual(sweepName(['all'], 'quick', 1), sweepName(['all'], 'full', 1));
  });
});
