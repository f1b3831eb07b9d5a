// A cluster task in miniature for concurrentWrites.test.ts: one shard (argv: out dir, K/N) of the tiny experiment, as `run --shard K/N` does it.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { parseShard } from '../../../src/experiments/selection.ts';
import { runSuite } from '../../../src/experiments/suite.ts';
import { silentProgress } from '../../../src/runtime/progress.ts';
import { tinyExperiment } from '../../experiments/tinyExperiment.ts';

const [outDir, shard] = process.argv.slice(2) as [string, string];
const registry = pathToFileURL(join(import.meta.dirname, '../../experiments/tinyExperiment.ts')).href;
const summary = await runSuite([tinyExperiment()], { profile: 'quick', seed: 1, ep: 'cpu', jobs: 1, force: false, threads: 1, outDir, shard: parseShard(shard), registry }, silentProgress());
console.log(JSON.stringify({ executed: summary.executed }));
