/**
 * Cluster tasks share one output folder: two processes writing the same
 * results.json and chart at the same moment must leave whole files, never a
 * mix or a truncated one, and two shards of one plan must add up to it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { finishedRun } from '../../src/experiments/store.ts';
import type { ExperimentResults } from '../../src/experiments/types.ts';
import { writeReport } from '../../src/report/report.ts';
import { decodePng, PNG_SIGNATURE } from '../support/png.ts';
import { tinyExperiment } from '../experiments/tinyExperiment.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-concurrent-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A separate Node process (as two Slurm tasks are), TypeScript through tsx. */
function child(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    process_.stdout.on('data', (chunk) => (stdout += chunk));
    process_.stderr.on('data', (chunk) => (stderr += chunk));
    process_.once('error', reject);
    process_.once('close', (code) => (code === 0 ? resolve(stdout.trim().split('\n').pop()!) : reject(new Error(`${script} ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

/** Every file below `dir` whose name marks a temporary file of writeFileAtomic. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((name) => name.includes('.tmp-'));
}

const IEND = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

describe('concurrent cluster tasks in one output folder', () => {
  it('two processes rewriting results.json and a chart at the same moment leave, at every read, one writer\'s whole file', async () => {
    const outDir = join(scratch, 'rewrites');
    // Both start at the same instant, once their imports are done, and write for 2.5 s.
    const start = Date.now() + 4000;
    const writers = ['A', 'B'].map((writer) => child('rewriteProcess.ts', [outDir, writer, String(start), String(start + 2500)]));
    let ended = false;
    const done = Promise.all(writers).finally(() => (ended = true));
    const resultsPath = join(outDir, 'shared', 'results.json');
    const chartPath = join(outDir, 'shared', 'loss.png');
    const seen = new Set<string>();
    let reads = 0;
    let decoded = 0;
    while (!ended) {
      if (existsSync(resultsPath) && existsSync(chartPath)) {
        const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as ExperimentResults;
        const writer = results.settings.writer!;
        assert.ok(['A', 'B'].includes(writer), `writer ${writer}`);
        assert.equal(results.title, `written by ${writer}`);
        assert.equal(results.settings.padding, writer.repeat(400_000), 'a whole file of one writer');
        seen.add(writer);
        const png = readFileSync(chartPath);
        assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
        assert.ok(png.subarray(png.length - 8).equals(IEND), 'the chart ends with its IEND chunk');
        if (reads % 50 === 0) {
          await decodePng(png);
          decoded++;
        }
        reads++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const counts = (await done).map((line) => (JSON.parse(line) as { rewrites: number }).rewrites);
    for (const count of counts) assert.ok(count >= 5, `each writer rewrote both files several times (${counts.join(', ')})`);
    assert.ok(reads >= 10 && decoded >= 1, `${reads} reads, of ${[...seen].join(' and ')}`);
    assert.deepEqual(leftovers(outDir), [], 'no temporary file left behind');
  });

  it('two shards of one plan run at once into one folder: every run file, results.json and chart is valid, and the report merges all runs', async () => {
    const outDir = join(scratch, 'shards');
    const executed = (await Promise.all(['1/2', '2/2'].map((shard) => child('shardProcess.ts', [outDir, shard])))).map((line) => (JSON.parse(line) as { executed: number }).executed);
    const experiment = tinyExperiment();
    const plan = experiment.plan('quick', 1);
    assert.deepEqual(executed, [2, 1], 'the shards split the 3 runs');
    for (const spec of plan.runs) assert.ok(finishedRun(outDir, 'tiny', 'quick', spec), `${spec.key} is finished and readable`);
    const merged = JSON.parse(readFileSync(join(outDir, 'tiny', 'results.json'), 'utf8')) as ExperimentResults;
    assert.ok(merged.runs.length >= 1 && merged.runs.length <= plan.runs.length);
    await decodePng(readFileSync(join(outDir, 'tiny', 'loss.png')));
    // Whichever shard wrote results.json last may not have seen the other's runs: the report merges them all.
    await writeReport([experiment], { outDir, profile: 'quick', seed: 1 });
    const reported = JSON.parse(readFileSync(join(outDir, 'tiny', 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(reported.runs.length, plan.runs.length);
    assert.ok(reported.complete);
    assert.match(readFileSync(join(outDir, 'report.md'), 'utf8'), /3 of 3 runs finished\./);
    assert.deepEqual(leftovers(outDir), []);
  });
});
