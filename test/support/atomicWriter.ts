// A worker thread for test/util/atomicWrite.test.ts: writes one payload to one path, again and again.
import { parentPort, workerData } from 'node:worker_threads';
import { writeFileAtomic } from '../../src/util/atomicWrite.ts';

const { path, payload, times } = workerData as { path: string; payload: string; times: number };
try {
  for (let i = 0; i < times; i++) writeFileAtomic(path, payload);
  parentPort!.postMessage({ ok: true });
} catch (error) {
  parentPort!.postMessage({ ok: false, error: String(error) });
}
