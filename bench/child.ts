/**
 * Runs one workload in this process and prints its BenchResult as one JSON
 * line: setup() before each repeat (untimed), one warm-up run, then the timed
 * repeats. bench/run.ts starts one of these per workload, so the peak RSS
 * belongs to that workload alone.
 *
 *   node --import tsx bench/child.ts <workload> --repeats N --threads N
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { BenchResult } from './result.ts';
import { median } from './result.ts';
import { loadWorkload } from './workloads/index.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { repeats: { type: 'string', default: '3' }, threads: { type: 'string', default: '2' } },
});
const repeats = Number(values.repeats);
const threads = Number(values.threads);
const workload = await loadWorkload(positionals[0] ?? '');

const times: number[] = [];
let quality = { name: '', value: Number.NaN };
for (let round = 0; round <= repeats; round++) {
  const state = await workload.setup({ threads });
  const started = process.hrtime.bigint();
  quality = await workload.run(state);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await workload.teardown?.(state);
  if (round > 0) times.push(seconds);
}

const require = createRequire(import.meta.url);
const result: BenchResult = {
  name: workload.name,
  implementation: 'hw1-onnx',
  description: workload.description,
  timed: workload.timed,
  seconds: median(times),
  min: Math.min(...times),
  times,
  // resourceUsage().maxRSS is in KiB (getrusage's ru_maxrss).
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  quality,
  threads,
  dtype: workload.dtype,
  repeats,
  versions: { node: process.versions.node, 'onnxruntime-node': (require('onnxruntime-node/package.json') as { version: string }).version },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
