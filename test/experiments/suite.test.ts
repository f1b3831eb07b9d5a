import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { parseShard, selectExperiments } from '../../src/experiments/selection.ts';
import { runPath } from '../../src/experiments/store.ts';
import { runSuite, type SuiteOptions } from '../../src/experiments/suite.ts';
import type { ExperimentResults, RunResult } from '../../src/experiments/types.ts';
import { writeReport } from '../../src/report/report.ts';
import { silentProgress } from '../../src/runtime/progress.ts';
import { DataError, MissingDataError, UserError } from '../../src/util/errors.ts';
import { CIFAR10_BATCH_FILES, CIFAR10_FILE_BYTES } from '../../src/data/cifar10.ts';
import { experiments as realExperiments } from '../../runners/index.ts';
import { tinyExperiment } from './tinyExperiment.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hw1-suite-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const registry = pathToFileURL(join(import.meta.dirname, 'tinyExperiment.ts')).href;

function options(outDir: string, extra: Partial<SuiteOptions> = {}): SuiteOptions {
  return { profile: 'quick', seed: 1, ep: 'cpu', jobs: 1, force: false, outDir, threads: 1, registry, ...extra };
}

describe('experiment suite', () => {
  it('resumes after an interrupted suite: finished runs are kept and skipped', async () => {
    const outDir = join(scratch, 'resume');
    // The second run "crashes" (its declaration fails): the first run's result must survive.
    await assert.rejects(runSuite([tinyExperiment({ failOn: 'width-8' })], options(outDir), silentProgress()), /layer 1 "fc1"/);
    assert.ok(existsSync(runPath(outDir, 'tiny', 'quick', 1, 'width-4')));
    assert.ok(!existsSync(runPath(outDir, 'tiny', 'quick', 1, 'width-8')));
    const firstRun = readFileSync(runPath(outDir, 'tiny', 'quick', 1, 'width-4'), 'utf8');

    const resumed = await runSuite([tinyExperiment()], options(outDir), silentProgress());
    assert.equal(resumed.skipped, 1);
    assert.equal(resumed.executed, 2);
    assert.deepEqual(resumed.completeExperiments, ['tiny']);
    assert.equal(readFileSync(runPath(outDir, 'tiny', 'quick', 1, 'width-4'), 'utf8'), firstRun, 'the finished run was not redone');
    const results = JSON.parse(readFileSync(join(outDir, 'tiny', 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(results.runs.length, 3);
    assert.ok(results.complete);
    for (const run of results.runs) {
      assert.equal(run.epochs.length, 4);
      assert.deepEqual(run.epochs.filter((e) => e.testLoss !== undefined).map((e) => e.epoch), [2, 4]);
      assert.equal(run.predictions!.x.length, 10);
    }
    assert.ok(existsSync(join(outDir, 'tiny', 'loss.png')));

    const again = await runSuite([tinyExperiment()], options(outDir), silentProgress());
    assert.equal(again.executed, 0);
    const forced = await runSuite([tinyExperiment()], options(outDir, { force: true }), silentProgress());
    assert.equal(forced.executed, 3);
  });

  it('keeps the quick and full profiles apart, and reports either', async () => {
    const outDir = join(scratch, 'profiles');
    await runSuite([tinyExperiment()], options(outDir), silentProgress());
    const full = await runSuite([tinyExperiment()], options(outDir, { profile: 'full' }), silentProgress());
    assert.equal(full.executed, 1);
    assert.ok(existsSync(runPath(outDir, 'tiny', 'quick', 1, 'width-4')));
    assert.ok(existsSync(runPath(outDir, 'tiny', 'full', 1, 'width-32')));
    const quickReport = await writeReport([tinyExperiment()], { outDir, profile: 'quick' });
    assert.match(readFileSync(quickReport.markdownPath, 'utf8'), /Profile \*\*quick\*\*, seed 1: 3 of 3 runs finished/);
    const fullReport = await writeReport([tinyExperiment()], { outDir, profile: 'full' });
    assert.match(readFileSync(fullReport.markdownPath, 'utf8'), /Profile \*\*full\*\*, seed 1: 1 of 1 runs finished/);
  });

  it('skips runs whose data set is missing and goes on with the rest', async () => {
    const outDir = join(scratch, 'missing-data');
    const summary = await runSuite([tinyExperiment({ missingDataOn: 'width-8' })], options(outDir), silentProgress());
    assert.deepEqual(summary.missingData, ['tiny/width-8']);
    assert.equal(summary.executed, 2);
    assert.ok(existsSync(runPath(outDir, 'tiny', 'quick', 1, 'width-16')), 'the run after the missing one still ran');
    assert.deepEqual(summary.completeExperiments, []);
    const report = readFileSync((await writeReport([tinyExperiment()], { outDir })).markdownPath, 'utf8');
    assert.match(report, /2 of 3 runs finished\. Missing: `width-8` \(/, 'the report names the missing run');
  });

  it('reads CIFAR-10 from the suite\'s --data-dir: a missing copy is skipped, a corrupt one is an error naming the file', async () => {
    const missing = await runSuite([tinyExperiment({ cifarOn: 'width-8' })], options(join(scratch, 'cifar-missing'), { dataDir: join(scratch, 'no-cifar-here') }), silentProgress());
    assert.deepEqual(missing.missingData, ['tiny/width-8']);
    const corrupt = mkdtempSync(join(scratch, 'cifar-corrupt-'));
    for (const file of CIFAR10_BATCH_FILES) {
      writeFileSync(join(corrupt, file), '');
      truncateSync(join(corrupt, file), file === 'data_batch_3.bin' ? CIFAR10_FILE_BYTES - 100 : CIFAR10_FILE_BYTES);
    }
    await assert.rejects(
      runSuite([tinyExperiment({ cifarOn: 'width-8' })], options(join(scratch, 'cifar-corrupt'), { dataDir: corrupt }), silentProgress()),
      (error: Error) => error instanceof DataError && !(error instanceof MissingDataError) && /corrupt CIFAR-10 file .*data_batch_3\.bin/.test(error.message),
    );
  });

  it('re-runs a result whose spec changed (another seed is another run)', async () => {
    const outDir = join(scratch, 'stale');
    await runSuite([tinyExperiment()], options(outDir), silentProgress());
    const other = await runSuite([tinyExperiment()], options(outDir, { seed: 2 }), silentProgress());
    assert.equal(other.executed, 3);
  });

  it('splits runs into shards whose results merge into one experiment', async () => {
    const outDir = join(scratch, 'shards');
    const first = await runSuite([tinyExperiment()], options(outDir, { shard: { index: 1, count: 2 } }), silentProgress());
    assert.equal(first.executed, 2);
    assert.deepEqual(first.completeExperiments, []);
    const second = await runSuite([tinyExperiment()], options(outDir, { shard: { index: 2, count: 2 } }), silentProgress());
    assert.equal(second.executed, 1);
    assert.deepEqual(second.completeExperiments, ['tiny']);
  });

  it('runs in parallel worker threads with the same numbers as in one thread', async () => {
    const single = join(scratch, 'single');
    const parallel = join(scratch, 'parallel');
    await runSuite([tinyExperiment()], options(single), silentProgress());
    await runSuite([tinyExperiment()], options(parallel, { jobs: 2 }), silentProgress());
    for (const key of ['width-4', 'width-8', 'width-16']) {
      const a = JSON.parse(readFileSync(runPath(single, 'tiny', 'quick', 1, key), 'utf8')) as RunResult;
      const b = JSON.parse(readFileSync(runPath(parallel, 'tiny', 'quick', 1, key), 'utf8')) as RunResult;
      assert.deepEqual(b.epochs.map((e) => e.trainLoss), a.epochs.map((e) => e.trainLoss), key);
    }
  });
});

describe('report', () => {
  it('is generated from a small results file, with the charts inlined in the HTML', async () => {
    const outDir = join(scratch, 'report');
    await runSuite([tinyExperiment()], options(outDir), silentProgress());
    // Edit one result file as if it came from another machine: the report must show its numbers.
    const path = runPath(outDir, 'tiny', 'quick', 1, 'width-8');
    const run = JSON.parse(readFileSync(path, 'utf8')) as RunResult;
    run.final.trainLoss = 0.0125;
    writeFileSync(path, JSON.stringify(run));
    const summary = await writeReport([tinyExperiment()], { outDir });
    const markdown = readFileSync(summary.markdownPath, 'utf8');
    assert.match(markdown, /### A tiny test experiment \(`tiny`\)/);
    assert.match(markdown, /Profile \*\*quick\*\*, seed 1: 3 of 3 runs finished/);
    assert.match(markdown, /1-8-1: final training loss 0\.01250/);
    const html = readFileSync(summary.htmlPath, 'utf8');
    assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo/);
    assert.match(html, /<table>|<li>/);
  });

  it('never destroys results: a selection with no runs is refused before anything is written', async () => {
    const outDir = join(scratch, 'report-kept');
    await runSuite([tinyExperiment()], options(outDir), silentProgress());
    const first = await writeReport([tinyExperiment()], { outDir });
    const files = [first.markdownPath, first.htmlPath, join(outDir, 'tiny', 'results.json')];
    const before = files.map((file) => readFileSync(file));
    for (const selection of [{ seed: 7 }, { profile: 'full' as const }]) {
      await assert.rejects(writeReport([tinyExperiment()], { outDir, ...selection }), (error: Error) =>
        error instanceof UserError && /no finished runs for .* nothing was written\. It holds: --profile quick --seed 1 \(tiny\)/.test(error.message),
      );
    }
    files.forEach((file, i) => assert.deepEqual(readFileSync(file), before[i], `${file} untouched`));
  });

  it('says which experiments have not been run', async () => {
    const outDir = join(scratch, 'partly');
    await runSuite([tinyExperiment()], options(outDir), silentProgress());
    const other = { ...tinyExperiment(), id: 'tiny-other' };
    const summary = await writeReport([tinyExperiment(), other], { outDir });
    assert.match(readFileSync(summary.markdownPath, 'utf8'), /Not run yet: `hw1-onnx run tiny-other`/);
  });
});

describe('selection and flags', () => {
  it('selects by id, section or all, and rejects unknown names', () => {
    assert.deepEqual(selectExperiments(['1-1'], realExperiments).map((e) => e.id), ['1-1-function', '1-1-tasks']);
    assert.deepEqual(selectExperiments(['1-2'], realExperiments).map((e) => e.id), ['1-2-trajectory', '1-2-gradnorm', '1-2-minimal-ratio', '1-2-landscape']);
    assert.deepEqual(selectExperiments(['1-1-tasks'], realExperiments).map((e) => e.id), ['1-1-tasks']);
    assert.equal(selectExperiments(['all'], realExperiments).length, realExperiments.length);
    assert.throws(() => selectExperiments(['9-9'], realExperiments), (e: Error) => e instanceof UserError && /unknown experiment "9-9"/.test(e.message));
  });

  it('parses --shard K/N and rejects nonsense', () => {
    assert.deepEqual(parseShard('2/8'), { index: 2, count: 8 });
    for (const bad of ['0/3', '4/3', 'x', '1/0']) assert.throws(() => parseShard(bad), UserError);
  });

  it('the CLI answers an unknown experiment or profile with one line and exit code 2', () => {
    for (const [args, pattern] of [
      [['run', 'nope'], /unknown experiment "nope"/],
      [['run', '1-1', '--profile', 'huge'], /unknown profile "huge"/],
      [['run', '1-1', '--shard', '3/2'], /--shard must be K\/N/],
      [['report', '--profile', 'huge'], /unknown profile "huge"/],
    ] as const) {
      const result = spawnSync(process.execPath, ['bin/hw1-onnx.js', ...args], { encoding: 'utf8' });
      assert.equal(result.status, 2, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.match(result.stderr, pattern);
    }
  });

  it('plans section 1-2: 8 trajectory runs from 8 seeds with snapshots, per-step records, a landscape that requires the trajectories', () => {
    const byId = (id: string) => realExperiments.find((e) => e.id === id)!;
    for (const profile of ['quick', 'full'] as const) {
      const trajectory = byId('1-2-trajectory').plan(profile, 1).runs;
      assert.equal(trajectory.length, 8);
      assert.deepEqual(trajectory.map((r) => r.runSeed), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.ok(trajectory.every((r) => r.seed === 1), 'one suite seed: one folder');
      assert.ok(trajectory.every((r) => r.record?.snapshotEvery === (profile === 'full' ? 3 : 2)));
      if (profile === 'full') assert.ok(trajectory.every((r) => r.training.epochs >= 24 && r.data.limitTrain === undefined), 'the whole training set, 24 epochs');
      assert.ok(byId('1-2-gradnorm').plan(profile, 1).runs.every((r) => r.record?.steps));
      assert.deepEqual(byId('1-2-landscape').plan(profile, 1).runs, []);
    }
    assert.deepEqual(byId('1-2-landscape').requires, ['1-2-trajectory']);
    assert.deepEqual(selectExperiments(['1-2-landscape'], realExperiments).map((e) => e.id), ['1-2-trajectory', '1-2-landscape']);
  });

  it('plans the 1-1 models with equal parameter counts (within 1%) and distinct run keys', () => {
    const plan = realExperiments[0]!.plan('full', 1);
    const keys = plan.runs.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(plan.runs[0]!.training.epochs, 20000);
  });
});
