/** Talking to Slurm: sbatch to submit, squeue to see what of a sweep is still queued. The only place that starts Slurm commands. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { UserError } from '../util/errors.ts';

/** The executable `name` on PATH, or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** The argument lists hw1-onnx slurm gives sbatch; the report's waits for the array (its id known only once the array is submitted). */
export function sbatchArguments(script: string, afterArray?: string): string[] {
  return ['--parsable', ...(afterArray ? [`--dependency=afterok:${afterArray}`] : []), script];
}

/** Submits one script; returns the job id (`sbatch --parsable` prints "id" or "id;cluster"). */
export function sbatch(script: string, afterArray?: string): string {
  const result = spawnSync('sbatch', sbatchArguments(script, afterArray), { encoding: 'utf8' });
  if (result.error) throw new UserError(`cannot start sbatch (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}); submit ${script} by hand`);
  const id = /^(\d+)(;\S+)?$/.exec(result.stdout.trim())?.[1];
  if (result.status !== 0 || !id) {
    const reason = (result.stderr || result.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit code ${result.status}`;
    throw new UserError(`sbatch refused ${script}: ${reason.replace(/^sbatch: error: /, '')}`);
  }
  return id;
}

/**
 * This user's queued or running jobs with one of these names ("<id> <name>
 * <state>"); empty where squeue is not installed. A second submission of a
 * sweep still in the queue would run its missing runs twice.
 */
export function activeJobs(names: readonly string[]): string[] {
  if (!onPath('squeue')) return [];
  const result = spawnSync('squeue', ['--noheader', '--array', '--user', userInfo().username, '--name', names.join(','), '--format', '%i %j %T'], { encoding: 'utf8' });
  if (result.status !== 0) return [];
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}
