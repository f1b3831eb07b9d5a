/**
 * `hw1-onnx run`: plans the selected experiments, skips runs whose results
 * are already on disk (unless forced), executes the rest (in parallel worker
 * threads with --jobs, or one slice with --shard), writes each run's result
 * as it finishes, and draws an experiment's charts once all its runs exist.
 */
import { cpus } from 'node:os';
import type { Progress } from '../runtime/progress.ts';
import type { ExecutionProviderName } from '../runtime/providers.ts';
import type { Experiment } from './experiment.ts';
import { executeRun } from './executeRun.ts';
import { WorkerPool } from './pool.ts';
import { renderExperiment } from './render.ts';
import { inShard } from './selection.ts';
import { formatNumber } from './summaries.ts';
import { MissingDataError } from '../util/errors.ts';
import { finishedRun, writeRun } from './store.ts';
import type { Profile, RunSpec } from './types.ts';

export interface SuiteOptions {
  profile: Profile;
  seed: number;
  ep: ExecutionProviderName;
  jobs: number;
  force: boolean;
  shard?: { index: number; count: number };
  outDir: string;
  /** Where CIFAR-10 is, for the runs that need it (`run --data-dir`). */
  dataDir?: string;
  threads?: number;
  /** Measure each convolution's gradient formulations on this machine (`--no-tune` turns it off). */
  tune?: boolean;
  /** URL of the module that exports `experiments`, for worker threads (runners/index.ts). */
  registry: string;
}

export interface SuiteSummary {
  executed: number;
  skipped: number;
  diverged: string[];
  /** Runs skipped because their data set is missing. */
  missingData: string[];
  completeExperiments: string[];
  seconds: number;
}

export async function runSuite(experiments: readonly Experiment[], options: SuiteOptions, progress: Progress): Promise<SuiteSummary> {
  const started = performance.now();
  const work: Array<{ experiment: Experiment; spec: RunSpec }> = [];
  let skipped = 0;
  for (const experiment of experiments) {
    const plan = experiment.plan(options.profile, options.seed);
    for (const spec of inShard(plan.runs, options.shard)) {
      if (!options.force && finishedRun(options.outDir, experiment.id, options.profile, spec)) skipped++;
      else work.push({ experiment, spec });
    }
  }
  progress.log(
    `${work.length} run(s) to do, ${skipped} already finished${options.shard ? ` (shard ${options.shard.index}/${options.shard.count})` : ''}; profile ${options.profile}, seed ${options.seed}, ep ${options.ep}, jobs ${options.jobs}`,
  );

  const threads = options.threads ?? Math.max(1, Math.floor(cpus().length / options.jobs));
  const pool = options.jobs > 1 ? new WorkerPool(options.jobs, options.registry) : null;
  const diverged: string[] = [];
  const missingData: string[] = [];
  let done = 0;
  const runOne = async ({ experiment, spec }: { experiment: Experiment; spec: RunSpec }) => {
    const job = { experiment: experiment.id, profile: options.profile, seed: options.seed, ep: options.ep, threads, tune: options.tune, outDir: options.outDir, dataDir: options.dataDir };
    let result;
    try {
      if (pool) result = await pool.run({ ...job, key: spec.key });
      else {
        progress.start(`${experiment.id} ${spec.key}`, spec.training.epochs);
        try {
          result = await executeRun(spec, { ...job, onEpoch: (epoch) => progress.update(epoch, `epoch ${epoch}/${spec.training.epochs}`) });
        } finally {
          progress.stop();
        }
      }
    } catch (error) {
      // A missing data set (CIFAR-10 not fetched) skips its runs; the suite and the report go on without them.
      // A corrupt one is an error: its fix is not to skip.
      if (!(error instanceof MissingDataError)) throw error;
      done++;
      missingData.push(`${experiment.id}/${spec.key}`);
      progress.log(`[${done}/${work.length}] ${experiment.id} ${spec.key}: skipped: ${error.message}`);
      return;
    }
    writeRun(options.outDir, result);
    done++;
    if (result.status === 'diverged') diverged.push(`${experiment.id}/${spec.key}`);
    const eta = ((performance.now() - started) / 1000 / done) * (work.length - done);
    const accuracy = result.final.testAccuracy === undefined ? '' : `, test accuracy ${(100 * result.final.testAccuracy).toFixed(2)}%`;
    progress.log(
      `[${done}/${work.length}] ${experiment.id} ${spec.key}: ${result.status}, train loss ${formatNumber(result.final.trainLoss)}, test loss ${formatNumber(result.final.testLoss)}${accuracy} (${result.seconds.toFixed(1)} s${work.length > done ? `, about ${formatDuration(eta)} left` : ''})`,
    );
  };
  try {
    if (pool) await Promise.all(work.map(runOne));
    else for (const item of work) await runOne(item);
  } finally {
    await pool?.close();
  }

  const completeExperiments: string[] = [];
  for (const experiment of experiments) {
    const rendered = await renderExperiment(experiment, options.outDir, options.profile, options.seed, {
      experiments,
      ep: options.ep,
      threads: options.threads,
      force: options.force,
      log: (line) => progress.log(line),
    });
    if (rendered.waitingFor.length === 0) {
      completeExperiments.push(experiment.id);
      progress.log(`${experiment.id}: ${rendered.results.runs.length} runs -> ${rendered.resultsPath}, ${rendered.charts.length} chart(s)`);
    } else if (!rendered.results.complete) {
      progress.log(`${experiment.id}: ${rendered.results.runs.length} of ${rendered.results.planned} runs finished so far (the rest: on other shards, or their data set is missing)`);
    } else {
      progress.log(`${experiment.id}: waits for the runs of ${rendered.waitingFor.join(', ')} (on other shards, or their data set is missing)`);
    }
  }
  return { executed: work.length - missingData.length, skipped, diverged, missingData, completeExperiments, seconds: (performance.now() - started) / 1000 };
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
