/**
 * The two Slurm batch scripts of `hw1-onnx slurm`: a job array whose task K
 * runs `hw1-onnx run ... --shard K/N` (each skips the runs already finished),
 * and a report job submitted to start after the whole array succeeded. Pure
 * text: what is submitted, and how, is decided in cluster/submit.ts.
 */
import { UserError } from '../util/errors.ts';

/** What each job asks Slurm for (`#SBATCH` lines); undefined fields are left to the cluster's defaults. */
export interface SlurmResources {
  cpusPerTask: number;
  /** Slurm's time limit syntax: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  time?: string;
  partition?: string;
  account?: string;
  /** Memory per node, as sbatch's --mem takes it (4000, 8G). */
  mem?: string;
}

/** How a task starts hw1-onnx: absolute paths, since a compute node's working directory and PATH may differ from the login node's. */
export interface Launcher {
  /** The Node.js executable. */
  node: string;
  /** bin/hw1-onnx.js of this checkout. */
  cli: string;
  /** The folder the command was typed in; tasks start there, so relative paths mean the same. */
  workingDir: string;
}

export interface ArrayJob {
  jobName: string;
  /** The experiment ids, sections or "all", as typed. */
  selection: readonly string[];
  profile: string;
  seed: number;
  ep: string;
  /** N of --shard K/N: the array indices are the shards K. */
  shardCount: number;
  /** The shards submitted (those with runs still missing), 1-based. */
  shards: readonly number[];
  /** Absolute output folder, shared by every task. */
  outDir: string;
  /** Absolute folder of the job logs. */
  logDir: string;
  dataDir?: string;
  resources: SlurmResources;
  launcher: Launcher;
  /** The command line that wrote the script, for its header. */
  writtenBy: string;
}

/** Quotes a word for bash: single quotes, with any ' written as '\''. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Sorted shard indices as sbatch's --array takes them: 1-3,5,7-8. */
export function arrayRange(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('an array needs at least one index');
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function resourceLines(resources: SlurmResources): string[] {
  return [
    `#SBATCH --cpus-per-task=${resources.cpusPerTask}`,
    ...(resources.time ? [`#SBATCH --time=${resources.time}`] : []),
    ...(resources.mem ? [`#SBATCH --mem=${resources.mem}`] : []),
    ...(resources.partition ? [`#SBATCH --partition=${resources.partition}`] : []),
    ...(resources.account ? [`#SBATCH --account=${resources.account}`] : []),
  ];
}

function launch(launcher: Launcher, args: readonly string[]): string {
  return ['exec', launcher.node, launcher.cli, ...args].map(shellQuote).join(' ');
}

/**
 * The array script. N is written into it rather than read from
 * SLURM_ARRAY_TASK_COUNT: a resubmission's array holds only the shards with
 * runs still missing (--array=2,5), and task 5 must still run slice 5 of N.
 * Each task gets C intra-op threads (--threads C), not the node's core count
 * that onnxruntime would otherwise take.
 */
export function arrayScript(job: ArrayJob): string {
  const run = [
    'run',
    ...job.selection,
    '--profile', job.profile,
    '--seed', String(job.seed),
    '--ep', job.ep,
    '--threads', String(job.resources.cpusPerTask),
    '--out', job.outDir,
    ...(job.dataDir ? ['--data-dir', job.dataDir] : []),
  ];
  return [
    '#!/bin/bash',
    `# Written by: ${job.writtenBy}`,
    `# Task K of this array runs slice K of ${job.shardCount} (run --shard K/${job.shardCount}); runs already finished`,
    '# are skipped, so running the same hw1-onnx slurm command again submits only the shards with runs missing.',
    `#SBATCH --job-name=${job.jobName}`,
    `#SBATCH --array=${arrayRange(job.shards)}`,
    ...resourceLines(job.resources),
    `#SBATCH --output=${join(job.logDir, `${job.jobName}-%A_%a.out`)}`,
    'set -euo pipefail',
    `cd ${shellQuote(job.launcher.workingDir)}`,
    `${launch(job.launcher, run)} --shard "\${SLURM_ARRAY_TASK_ID}/${job.shardCount}"`,
    '',
  ].join('\n');
}

/**
 * The report script: merges every run file into results.json and the charts
 * and writes report.md and report.html. hw1-onnx slurm submits it with
 * --dependency=afterok:<array job>; when a task fails or is cancelled that
 * can never hold, and --kill-on-invalid-dep removes the job instead of
 * leaving it pending forever.
 */
export function reportScript(job: ArrayJob): string {
  const report = ['report', '--profile', job.profile, '--seed', String(job.seed), '--out', job.outDir];
  return [
    '#!/bin/bash',
    `# Written by: ${job.writtenBy}`,
    `# Submitted to run after the array ${job.jobName} succeeded (sbatch --dependency=afterok:<array job id>).`,
    `#SBATCH --job-name=${job.jobName}-report`,
    '#SBATCH --kill-on-invalid-dep=yes',
    ...resourceLines(job.resources),
    `#SBATCH --output=${join(job.logDir, `${job.jobName}-report-%j.out`)}`,
    'set -euo pipefail',
    `cd ${shellQuote(job.launcher.workingDir)}`,
    launch(job.launcher, report),
    '',
  ].join('\n');
}

// `#SBATCH --output=` takes no quotes: a path with spaces would be cut there, so refuse such folders up front.
function join(folder: string, name: string): string {
  return `${folder.replace(/\/+$/, '')}/${name}`;
}

/** Slurm's time limit formats (sbatch --time), checked before anything is written. */
export function checkTimeLimit(value: string): string {
  if (!/^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2})$/.test(value)) {
    throw new UserError(`--time must be a Slurm time limit such as 04:00:00, 90 (minutes) or 1-12:00:00 (days-hours:minutes:seconds), got "${value}"`);
  }
  return value;
}

/** A word for an #SBATCH line (partition, account, memory): no spaces or shell characters. */
export function checkSbatchWord(flag: string, value: string, pattern: RegExp, example: string): string {
  if (!pattern.test(value)) throw new UserError(`--${flag} must be ${example}, got "${value}"`);
  return value;
}

/** #SBATCH --output cannot quote: the output folder must be a path without whitespace or quotes. */
export function checkSbatchPath(flag: string, path: string): string {
  if (/[\s'"\\%]/.test(path)) throw new UserError(`--${flag} "${path}" holds a space, quote, backslash or %, which #SBATCH lines cannot carry; choose a folder without them`);
  return path;
}
