// One of two writers for concurrentWrites.test.ts: from `start` until `stop` (epoch ms), rewrites the experiment's
// results.json and a chart with its own content, through the same functions a shard uses; prints how often.
import { join } from 'node:path';
import { writeChart } from '../../../src/charts/lineChart.ts';
import { writeResults } from '../../../src/experiments/store.ts';
import { rewrittenResults, rewrittenChart } from './rewritten.ts';

const [outDir, writer, start, stop] = process.argv.slice(2) as [string, string, string, string];
while (Date.now() < Number(start)) await new Promise((resolve) => setTimeout(resolve, 1));
let rewrites = 0;
while (Date.now() < Number(stop) || rewrites < 5) {
  writeResults(outDir, rewrittenResults(writer));
  await writeChart(join(outDir, 'shared', 'loss.png'), rewrittenChart(writer));
  rewrites++;
}
console.log(JSON.stringify({ rewrites }));
