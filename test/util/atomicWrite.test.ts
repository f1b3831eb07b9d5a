import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { temporaryPath, writeFileAtomic } from '../../src/util/atomicWrite.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-atomic-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A writer in its own thread: the same process id as every other, as shards in PID-namespaced containers have. */
function writer(path: string, payload: string, times: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../support/atomicWriterEntry.js', import.meta.url), { workerData: { path, payload, times } });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('writeFileAtomic', () => {
  it('names its temporary files uniquely, beside the target, with host and pid', () => {
    const path = join(scratch, 'results.json');
    const names = new Set(Array.from({ length: 1000 }, () => temporaryPath(path)));
    assert.equal(names.size, 1000);
    const one = [...names][0]!;
    assert.equal(dirname(one), scratch);
    assert.match(basename(one), new RegExp(`^\\.results\\.json\\.tmp-.+-${process.pid}-[0-9a-f]{16}$`));
  });

  it('two writers of one file with the same process id never leave a corrupt or foreign file', async () => {
    const path = join(scratch, 'shared', 'results.json');
    // Large enough that a write takes a while, so the writers overlap.
    const payloads = ['A', 'B'].map((letter) => `${letter.repeat(200_000)}\n`);
    const writers = payloads.map((payload) => writer(path, payload, 150));
    let reads = 0;
    let settled = false;
    const done = Promise.all(writers).finally(() => (settled = true));
    // Read while they write: every read is one whole payload.
    while (!settled) {
      if (existsSync(path)) {
        const text = readFileSync(path, 'utf8');
        assert.ok(payloads.includes(text), `a read saw ${text.length} characters starting ${JSON.stringify(text.slice(0, 3))}`);
        reads++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const result of await done) assert.deepEqual(result, { ok: true });
    assert.ok(payloads.includes(readFileSync(path, 'utf8')), 'the file is one writer\'s whole payload');
    assert.deepEqual(readdirSync(dirname(path)), ['results.json'], 'no temporary file left behind');
    assert.ok(reads > 0);
  });

  it('leaves the old file in place and no temporary file when a write fails', () => {
    const path = join(scratch, 'kept.json');
    writeFileAtomic(path, 'old');
    assert.throws(() => writeFileAtomic(path, { length: 1 } as unknown as string));
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(scratch).filter((name) => name.includes('kept')), ['kept.json']);
  });
});
