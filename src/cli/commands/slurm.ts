/**
 * `hw1-onnx slurm`: a sweep on a Slurm cluster. Writes a job array over
 * `run --shard K/N` and a report job into <out>/slurm/, submits the array
 * and then the report with --dependency=afterok:<array>, and says how to
 * watch them. Only the shards with runs still missing are submitted, so the
 * same command after a failed or cancelled task finishes the plan.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { experiments } from '../../../runners/index.ts';
import { defaultShardCount, sweepName, sweepStatus } from '../../cluster/plan.ts';
import { arrayRange, arrayScript, checkSbatchPath, checkSbatchWord, checkTimeLimit, reportScript, shellQuote, type ArrayJob } from '../../cluster/sbatch.ts';
import { activeJobs, onPath, sbatch } from '../../cluster/submit.ts';
import { selectExperiments } from '../../experiments/selection.ts';
import { PROFILES, type Profile } from '../../experiments/types.ts';
import { EXECUTION_PROVIDERS } from '../../runtime/providers.ts';
import { ensureWritableFolder, writeFileAtomic } from '../../util/atomicWrite.ts';
import { UserError } from '../../util/errors.ts';
import { providerFlag, wholeNumberFlag } from '../flags.ts';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/hw1-onnx.js');

/** A string flag, given once. */
function stringFlag(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new UserError(`--${name} is given ${value.length} times (${value.map((v) => JSON.stringify(String(v))).join(' and ')}); give it once`);
  return String(value);
}

function checkProfile(value: unknown): Profile {
  const profile = stringFlag('profile', value)!;
  if (!(PROFILES as readonly string[]).includes(profile)) throw new UserError(`unknown profile "${profile}" (choose one of: ${PROFILES.join(', ')})`);
  return profile as Profile;
}

/** A path as the user would type it from here: relative when below the working directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export const slurmCommand = {
  command: 'slurm [experiments..]',
  describe: 'run experiments as a Slurm job array over --shard, then the report',
  builder: (yargs: Argv) =>
    yargs
      .positional('experiments', { type: 'string', array: true, describe: 'experiment ids, sections or "all"' })
      .option('profile', { type: 'string', requiresArg: true, default: 'full', describe: 'full (the homework\'s scale) or quick' })
      .option('seed', { type: 'number', requiresArg: true, default: 1, describe: 'seeds initial weights and batch order of every run' })
      .option('ep', { type: 'string', requiresArg: true, default: 'cpu', describe: `execution provider: ${EXECUTION_PROVIDERS.join(', ')}` })
      .option('tasks', { type: 'number', requiresArg: true, describe: 'N: array tasks, task K runs --shard K/N (default 8, or fewer)' })
      .option('cpus-per-task', { type: 'number', requiresArg: true, default: 4, describe: 'CPUs of each task, its intra-op threads' })
      .option('time', { type: 'string', requiresArg: true, describe: 'time limit of each task, HH:MM:SS (default: the partition\'s)' })
      .option('mem', { type: 'string', requiresArg: true, describe: 'memory of each task, as sbatch --mem (8G)' })
      .option('partition', { type: 'string', requiresArg: true, describe: 'Slurm partition (default: the cluster\'s)' })
      .option('account', { type: 'string', requiresArg: true, describe: 'Slurm account to charge' })
      .option('out', { type: 'string', requiresArg: true, default: 'out', describe: 'output folder, on a file system every node sees' })
      .option('data-dir', { type: 'string', requiresArg: true, describe: 'where CIFAR-10 is (MNIST comes packaged)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'write the scripts and print the sbatch commands only' })
      .example('$0 slurm all --tasks 16 --time 04:00:00', 'the full suite in 16 tasks, then its report')
      .example('$0 slurm 1-1 --dry-run', 'only write out/slurm/1-1-full-seed1*.sbatch'),
  handler: async (args: Record<string, unknown>) => {
    // Everything is checked before anything is written.
    const profile = checkProfile(args.profile);
    const seed = wholeNumberFlag('seed', args.seed, 0);
    const ep = providerFlag(args.ep);
    const selection = (args.experiments as string[] | undefined) ?? [];
    const selected = selectExperiments(selection, experiments);
    const shardCount = args.tasks === undefined ? defaultShardCount(selected, profile, seed) : wholeNumberFlag('tasks', args.tasks, 1);
    const time = stringFlag('time', args.time);
    const mem = stringFlag('mem', args.mem);
    const partition = stringFlag('partition', args.partition);
    const account = stringFlag('account', args.account);
    const resources = {
      cpusPerTask: wholeNumberFlag('cpus-per-task', args['cpus-per-task'], 1),
      time: time === undefined ? undefined : checkTimeLimit(time),
      mem: mem === undefined ? undefined : checkSbatchWord('mem', mem, /^\d+[KMGT]?$/i, 'a size such as 8G or 4000 (megabytes)'),
      partition: partition === undefined ? undefined : checkSbatchWord('partition', partition, /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/, 'a partition name (or names, comma-separated)'),
      account: account === undefined ? undefined : checkSbatchWord('account', account, /^[A-Za-z0-9_.-]+$/, 'an account name'),
    };
    const outFlag = stringFlag('out', args.out)!;
    const outDir = resolve(outFlag);
    if (outFlag.trim() !== '') checkSbatchPath('out', outDir);
    ensureWritableFolder(outFlag);
    const dataDir = stringFlag('data-dir', args['data-dir']);

    const status = sweepStatus(selected, { profile, seed, shardCount, outDir });
    const jobName = sweepName(selection, profile, seed);
    const slurmDir = join(outDir, 'slurm');
    const logDir = join(slurmDir, 'logs');
    // Slurm does not create the folder of --output: a task whose log folder is missing fails at once.
    mkdirSync(logDir, { recursive: true });
    const fileStem = jobName.replace(/^hw1-onnx-/, '');
    const arrayPath = join(slurmDir, `${fileStem}.sbatch`);
    const reportPath = join(slurmDir, `${fileStem}-report.sbatch`);
    const job: ArrayJob = {
      jobName,
      selection,
      profile,
      seed,
      ep,
      shardCount,
      shards: status.shards.map((shard) => shard.index),
      outDir,
      logDir,
      dataDir: dataDir === undefined ? undefined : resolve(dataDir),
      resources,
      launcher: { node: process.execPath, cli: CLI, workingDir: process.cwd() },
      writtenBy: ['hw1-onnx', ...process.argv.slice(2)].map(shellQuote).join(' '),
    };
    // Refused before the scripts are rewritten: the queued jobs' scripts stay as they were submitted.
    const queued = args['dry-run'] ? [] : activeJobs([jobName, `${jobName}-report`]);
    if (queued.length > 0) {
      const ids = [...new Set(queued.map((line) => line.split(' ')[0]!.replace(/_.*/, '')))];
      throw new UserError(`this sweep is still queued or running (${queued.length} job(s): ${queued.slice(0, 4).join('; ')}${queued.length > 4 ? '; ...' : ''}); submit again once it has ended, or stop it first: scancel ${ids.join(' ')}`);
    }

    const missing = status.planned - status.finished;
    const hasArray = job.shards.length > 0;
    if (hasArray) writeFileAtomic(arrayPath, arrayScript(job));
    writeFileAtomic(reportPath, reportScript(job));

    console.log(
      `${selected.map((e) => e.id).join(', ')}: ${status.planned} runs (profile ${profile}, seed ${seed}), ${status.finished} finished, ${missing} to do` +
        (hasArray ? ` in ${job.shards.length} of ${shardCount} shards (--array=${arrayRange(job.shards)}, ${resources.cpusPerTask} CPU(s) and threads each)` : ''),
    );
    console.log(hasArray ? `wrote ${shown(arrayPath)} and ${shown(reportPath)}` : `wrote ${shown(reportPath)} (every run is finished: only the report is left to do)`);

    // What to type to submit by hand: the array's id (sbatch --parsable prints "id" or "id;cluster") goes into the report's dependency.
    const byHand = hasArray
      ? [`array=$(sbatch --parsable ${shellQuote(shown(arrayPath))})`, `sbatch --dependency=afterok:\${array%%;*} ${shellQuote(shown(reportPath))}`]
      : [`sbatch ${shellQuote(shown(reportPath))}`];
    if (args['dry-run']) {
      console.log('dry run, nothing submitted; to submit:');
      for (const line of byHand) console.log(`  ${line}`);
      return;
    }
    if (!onPath('sbatch')) {
      throw new UserError(`sbatch is not on PATH; the scripts are written: submit them from a Slurm login node with this command again, or there by hand: ${byHand.join(' && ')}`);
    }
    const arrayId = hasArray ? sbatch(shown(arrayPath)) : undefined;
    let reportId: string;
    try {
      reportId = sbatch(shown(reportPath), arrayId);
    } catch (error) {
      if (!arrayId || !(error instanceof UserError)) throw error;
      throw new UserError(`${error.message} (the array ${arrayId} is submitted; submit the report by hand: sbatch --dependency=afterok:${arrayId} ${shellQuote(shown(reportPath))})`);
    }
    const ids = [arrayId, reportId].filter(Boolean).join(',');
    console.log(
      arrayId
        ? `submitted array job ${arrayId} (${job.shards.length} task(s)) and report job ${reportId} (starts once every task succeeded: --dependency=afterok:${arrayId})`
        : `submitted report job ${reportId}`,
    );
    console.log(`watch: squeue -j ${ids}; states and exit codes, also after they end: sacct -j ${ids} -X --format=JobID,JobName,State,Elapsed,ExitCode`);
    console.log(`logs: ${shown(logDir)}/; results: ${shown(join(outDir, 'report.md'))}. After a failed or cancelled task, the same command submits the runs still missing`);
  },
};
