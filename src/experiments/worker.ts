/** A worker thread of `run --jobs N`: executes the runs it is sent and posts their results back. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Experiment } from './experiment.ts';
import { executeRun } from './executeRun.ts';
import type { RunJob } from './pool.ts';

// The experiment registry lives in runners/ (above src/ in the data flow): its URL comes from the pool.
const { experiments } = (await import(workerData.registry as string)) as { experiments: Experiment[] };

parentPort!.on('message', async (job: RunJob) => {
  try {
    const experiment = experiments.find((e) => e.id === job.experiment)!;
    const spec = experiment.plan(job.profile, job.seed).runs.find((run) => run.key === job.key)!;
    const result = await executeRun(spec, { experiment: job.experiment, profile: job.profile, ep: job.ep, threads: job.threads, tune: job.tune, outDir: job.outDir, dataDir: job.dataDir });
    parentPort!.postMessage({ ok: true, result });
  } catch (error) {
    parentPort!.postMessage({ ok: false, message: (error as Error).message, name: (error as Error).name });
  }
});
