/**
 * Runs independent experiment runs in parallel worker threads. Each worker
 * re-plans the experiment and picks its run by key, so only plain data
 * crosses threads (model declarations hold functions).
 */
import { Worker } from 'node:worker_threads';
import type { ExecutionProviderName } from '../runtime/providers.ts';
import { DataError, MissingDataError, UserError } from '../util/errors.ts';
import type { Profile, RunResult } from './types.ts';

export interface RunJob {
  experiment: string;
  key: string;
  profile: Profile;
  seed: number;
  ep: ExecutionProviderName;
  threads: number;
  tune?: boolean;
  outDir: string;
  dataDir?: string;
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly waiting: Array<(worker: Worker) => void> = [];

  /** `registry` is the URL of a module exporting `experiments` (runners/index.ts). */
  constructor(size: number, registry: string) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: { registry } });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  async run(job: RunJob): Promise<RunResult> {
    const worker = this.idle.pop() ?? (await new Promise<Worker>((resolve) => this.waiting.push(resolve)));
    try {
      const reply = await new Promise<{ ok: boolean; result?: RunResult; message?: string; name?: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage(job);
      });
      worker.removeAllListeners('error');
      if (!reply.ok) {
        // Errors cross threads as name and message; rebuild the classes the suite tells apart.
        const userMistake = ['UserError', 'ModelDeclarationError'].includes(reply.name ?? '');
        const error =
          reply.name === 'MissingDataError'
            ? new MissingDataError(reply.message!)
            : reply.name === 'DataError'
              ? new DataError(reply.message!)
              : userMistake
                ? new UserError(reply.message!)
                : new Error(reply.message);
        throw error;
      }
      return reply.result!;
    } finally {
      const next = this.waiting.shift();
      if (next) next(worker);
      else this.idle.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }
}
