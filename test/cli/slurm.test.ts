/**
 * `hw1-onnx slurm` as a user types it, with stand-ins for sbatch and squeue
 * on PATH that record what they were asked (the real cluster is in
 * test/cluster/slurm.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { experiments } from '../../runners/index.ts';
import { inShard } from '../../src/experiments/selection.ts';
import { markFinished } from '../cluster/support/finishedRuns.ts';

const CLI = resolve('bin/hw1-onnx.js');
const scratch = mkdtempSync(join(tmpdir(), 'hw1-slurm-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A folder with `sbatch` (appends its arguments to sbatch.log and prints the
 * next job id, 41, 42, ...; or fails like sbatch when FAKE_SBATCH_ERROR is set)
 * and `squeue` (prints the file FAKE_SQUEUE if there is one).
 */
function fakeSlurm(name: string): { bin: string; calls: () => string[][] } {
  const bin = join(scratch, name, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(scratch, name, 'sbatch.log');
  writeFileSync(
    join(bin, 'sbatch'),
    `#!/bin/bash
if [ -n "\${FAKE_SBATCH_ERROR:-}" ]; then echo "sbatch: error: \${FAKE_SBATCH_ERROR}" >&2; exit 1; fi
printf '%s\\t' "$@" >> '${log}'; echo >> '${log}'
echo $(( 40 + $(wc -l < '${log}') ))
`,
  );
  writeFileSync(join(bin, 'squeue'), '#!/bin/bash\n[ -n "${FAKE_SQUEUE:-}" ] && cat "$FAKE_SQUEUE"\nexit 0\n');
  chmodSync(join(bin, 'sbatch'), 0o755);
  chmodSync(join(bin, 'squeue'), 0o755);
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.replace(/\t$/, '').split('\t')) : []) };
}

function slurm(args: string[], options: { cwd: string; path: string; env?: NodeJS.ProcessEnv }) {
  const result = spawnSync(process.execPath, [CLI, 'slurm', ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, FORCE_COLOR: '0', PATH: options.path, ...options.env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

function folder(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const QUICK = ['1-1-function', '--profile', 'quick', '--tasks', '2', '--cpus-per-task', '1'];

describe('hw1-onnx slurm', () => {
  it('refuses bad input in one line with exit code 2, before writing anything', () => {
    const cwd = folder('bad');
    const { bin } = fakeSlurm('bad');
    const cases: Array<[string[], RegExp]> = [
      [['1-1-fnction'], /^hw1-onnx: unknown experiment "1-1-fnction" \(known: all, 1-1, 1-1-function.*see: hw1-onnx run --list\)$/],
      [[], /name an experiment, a section or "all"/],
      [['1-1', '--tasks', '0'], /--tasks must be a whole number of at least 1, got "0"/],
      [['1-1', '--time', '4h'], /--time must be a Slurm time limit such as 04:00:00.*got "4h"/],
      [['1-1', '--partition', 'a;b'], /--partition must be a partition name/],
      [['1-1', '--out', join(cwd, 'with space')], /--out ".*with space" holds a space/],
      [['1-1', '--time', '1:00', '--time', '2:00'], /--time is given 2 times \("1:00" and "2:00"\); give it once/],
      [['1-1', '--partiton', 'short'], /unknown option --partiton \(did you mean --partition\?\)/],
    ];
    for (const [args, pattern] of cases) {
      const { code, stderr } = slurm(args, { cwd, path: bin });
      assert.equal(code, 2, `hw1-onnx slurm ${args.join(' ')}: ${stderr}`);
      assert.equal(stderr.split('\n').length, 1, stderr);
      assert.match(stderr, pattern);
    }
    assert.ok(!existsSync(join(cwd, 'out', 'slurm')), 'nothing written');
  });

  it('submits the array, then the report with --dependency=afterok:<array id>, and says how to watch them', () => {
    const cwd = folder('submit');
    const fake = fakeSlurm('submit');
    const { code, stdout, stderr } = slurm([...QUICK, '--time', '00:30:00', '--partition', 'short', '--account', 'course42'], { cwd, path: `${fake.bin}:${process.env.PATH}` });
    assert.equal(code, 0, stderr);
    const arrayScript = join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch');
    const reportScript = join(cwd, 'out', 'slurm', '1-1-function-quick-seed1-report.sbatch');
    assert.deepEqual(fake.calls(), [
      ['--parsable', 'out/slurm/1-1-function-quick-seed1.sbatch'],
      ['--parsable', '--dependency=afterok:41', 'out/slurm/1-1-function-quick-seed1-report.sbatch'],
    ]);
    assert.match(stdout, /submitted array job 41 \(2 task\(s\)\) and report job 42/);
    assert.match(stdout, /squeue -j 41,42/);
    assert.match(stdout, /sacct -j 41,42/);
    assert.match(stdout, /logs: out\/slurm\/logs\//);
    const array = readFileSync(arrayScript, 'utf8');
    assert.match(array, /^#SBATCH --array=1-2$/m);
    assert.match(array, /^#SBATCH --cpus-per-task=1$/m);
    assert.match(array, /^#SBATCH --time=00:30:00$/m);
    assert.match(array, /^#SBATCH --partition=short$/m);
    assert.match(array, /^#SBATCH --account=course42$/m);
    assert.match(array, new RegExp(`^#SBATCH --output=${join(cwd, 'out', 'slurm', 'logs')}/hw1-onnx-1-1-function-quick-seed1-%A_%a\\.out$`, 'm'));
    assert.match(array, new RegExp(` run 1-1-function --profile quick --seed 1 --ep cpu --threads 1 --out ${join(cwd, 'out')} --shard "\\$\\{SLURM_ARRAY_TASK_ID\\}/2"$`, 'm'));
    assert.match(readFileSync(reportScript, 'utf8'), new RegExp(` report --profile quick --seed 1 --out ${join(cwd, 'out')}$`, 'm'));
    assert.ok(statSync(join(cwd, 'out', 'slurm', 'logs')).isDirectory(), 'the log folder exists before any task starts');
  });

  it('--dry-run writes the scripts and prints the commands, submitting nothing', () => {
    const cwd = folder('dry');
    const fake = fakeSlurm('dry');
    const { code, stdout, stderr } = slurm([...QUICK, '--dry-run'], { cwd, path: `${fake.bin}:${process.env.PATH}` });
    assert.equal(code, 0, stderr);
    assert.deepEqual(fake.calls(), []);
    assert.match(stdout, /dry run, nothing submitted/);
    assert.match(stdout, /^ {2}array=\$\(sbatch --parsable out\/slurm\/1-1-function-quick-seed1\.sbatch\)$/m);
    assert.match(stdout, /^ {2}sbatch --dependency=afterok:\$\{array%%;\*\} out\/slurm\/1-1-function-quick-seed1-report\.sbatch$/m);
    assert.ok(existsSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch')));
    assert.ok(existsSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1-report.sbatch')));
  });

  it('without sbatch on PATH: one line saying so, exit 2, the scripts written', () => {
    const cwd = folder('no-sbatch');
    const empty = folder('no-sbatch/empty-bin');
    const { code, stderr } = slurm(QUICK, { cwd, path: empty });
    assert.equal(code, 2);
    assert.equal(stderr.split('\n').length, 1, stderr);
    assert.match(stderr, /^hw1-onnx: sbatch is not on PATH; the scripts are written: .*array=\$\(sbatch --parsable out\/slurm\/1-1-function-quick-seed1\.sbatch\) && sbatch --dependency=afterok:/);
    assert.ok(existsSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch')));
  });

  it('submitted again, submits only the shards with runs still missing; with none, only the report', () => {
    const cwd = folder('resubmit');
    const fake = fakeSlurm('resubmit');
    const path = `${fake.bin}:${process.env.PATH}`;
    const experiment = experiments.find((e) => e.id === '1-1-function')!;
    const runs = experiment.plan('quick', 1).runs;
    // Three shards; shard 2 finished, shard 3 half-way.
    const args = ['1-1-function', '--profile', 'quick', '--tasks', '3', '--cpus-per-task', '1'];
    markFinished(join(cwd, 'out'), experiment, 'quick', 1, [...inShard(runs, { index: 2, count: 3 }), inShard(runs, { index: 3, count: 3 })[0]!].map((run) => run.key));
    const partly = slurm(args, { cwd, path });
    assert.equal(partly.code, 0, partly.stderr);
    assert.match(partly.stdout, /6 runs \(profile quick, seed 1\), 3 finished, 3 to do in 2 of 3 shards \(--array=1,3,/);
    assert.match(readFileSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch'), 'utf8'), /^#SBATCH --array=1,3$/m);
    assert.match(readFileSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch'), 'utf8'), /--shard "\$\{SLURM_ARRAY_TASK_ID\}\/3"$/m);

    markFinished(join(cwd, 'out'), experiment, 'quick', 1, runs.map((run) => run.key));
    const complete = slurm(args, { cwd, path });
    assert.equal(complete.code, 0, complete.stderr);
    assert.match(complete.stdout, /6 finished, 0 to do/);
    assert.match(complete.stdout, /only the report is left to do/);
    assert.match(complete.stdout, /submitted report job 43$/m);
    assert.deepEqual(fake.calls().slice(2), [['--parsable', 'out/slurm/1-1-function-quick-seed1-report.sbatch']], 'the report alone, with no dependency');
  });

  it('refuses to submit a sweep that is still in the queue, naming its jobs and how to stop them', () => {
    const cwd = folder('queued');
    const fake = fakeSlurm('queued');
    const queue = join(scratch, 'queued', 'queue.txt');
    writeFileSync(queue, '77_1 hw1-onnx-1-1-function-quick-seed1 RUNNING\n78 hw1-onnx-1-1-function-quick-seed1-report PENDING\n');
    const { code, stderr } = slurm(QUICK, { cwd, path: `${fake.bin}:${process.env.PATH}`, env: { FAKE_SQUEUE: queue } });
    assert.equal(code, 2);
    assert.equal(stderr.split('\n').length, 1, stderr);
    assert.match(stderr, /this sweep is still queued or running \(2 job\(s\): 77_1 .* RUNNING; 78 .* PENDING\).*scancel 77 78$/);
    assert.deepEqual(fake.calls(), []);
    assert.ok(!existsSync(join(cwd, 'out', 'slurm', '1-1-function-quick-seed1.sbatch')), 'the queued sweep\'s scripts are left alone');
  });

  it('says in one line what sbatch refused', () => {
    const cwd = folder('refused');
    const fake = fakeSlurm('refused');
    const { code, stderr } = slurm([...QUICK, '--partition', 'nope'], { cwd, path: `${fake.bin}:${process.env.PATH}`, env: { FAKE_SBATCH_ERROR: 'Batch job submission failed: Invalid partition name specified' } });
    assert.equal(code, 2);
    assert.equal(stderr, 'hw1-onnx: sbatch refused out/slurm/1-1-function-quick-seed1.sbatch: Batch job submission failed: Invalid partition name specified');
  });

  it('the tasks\' run --threads refuses what is not a whole number of at least 1, in one line', () => {
    const result = spawnSync(process.execPath, [CLI, 'run', '1-1-function', '--threads', '0', '--out', join(scratch, 'threads')], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim(), 'hw1-onnx: --threads must be a whole number of at least 1, got "0"');
  });

  it('fits every option\'s description on its line in --help', () => {
    const result = spawnSync(process.execPath, [CLI, 'slurm', '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--cpus-per-task/);
    assert.deepEqual(result.stdout.split('\n').filter((line) => /^ {12,}[^ [\s]/.test(line)), []);
  });
});
