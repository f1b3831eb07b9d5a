import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Argv } from 'yargs';
import { experiments } from '../../../runners/index.ts';
import { parseShard, selectExperiments } from '../../experiments/selection.ts';
import { runSuite } from '../../experiments/suite.ts';
import { PROFILES, type Profile } from '../../experiments/types.ts';
import { writeReport } from '../../report/report.ts';
import { recordedRuns } from '../../experiments/store.ts';
import { tuneByDefault } from '../../runtime/convTuner.ts';
import { ensureWritableFolder } from '../../util/atomicWrite.ts';
import { terminalProgress } from '../../runtime/progress.ts';
import { EXECUTION_PROVIDERS } from '../../runtime/providers.ts';
import { providerFlag, wholeNumberFlag } from '../flags.ts';
import { UserError } from '../../util/errors.ts';

const registry = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../../runners/index.ts')).href;

function checkProfile(value: unknown): Profile {
  if (!(PROFILES as readonly string[]).includes(String(value))) {
    throw new UserError(`unknown profile "${value}" (choose one of: ${PROFILES.join(', ')})`);
  }
  return value as Profile;
}


export const runCommand = {
  command: 'run [experiments..]',
  describe: 'run HW1 experiments (an id, a section such as 1-1, or all)',
  builder: (yargs: Argv) =>
    yargs
      .positional('experiments', { type: 'string', array: true, describe: 'experiment ids, sections or "all"' })
      .option('list', { type: 'boolean', default: false, describe: 'list the experiments and their run counts' })
      .option('profile', { type: 'string', requiresArg: true, default: 'quick', describe: 'quick (minutes on a laptop) or full (the homework\'s scale)' })
      .option('ep', { type: 'string', requiresArg: true, default: 'cpu', describe: `execution provider: ${EXECUTION_PROVIDERS.join(', ')}` })
      .option('seed', { type: 'number', requiresArg: true, default: 1, describe: 'seeds initial weights and batch order of every run' })
      .option('jobs', { type: 'number', requiresArg: true, default: 1, describe: 'independent runs executed in parallel worker threads' })
      .option('threads', { type: 'number', requiresArg: true, describe: 'intra-op threads per run (default: cores / jobs)' })
      .option('force', { type: 'boolean', default: false, describe: 'run again even where a finished result exists' })
      .option('tune', { type: 'boolean', default: tuneByDefault(), describe: 'pick convolution gradients by timing them here (cached); --no-tune: fixed' })
      .option('shard', { type: 'string', requiresArg: true, describe: 'K/N: run only the K-th of N slices of the runs (cluster job arrays)' })
      .option('out', { type: 'string', requiresArg: true, default: 'out', describe: 'output folder' })
      .option('data-dir', { type: 'string', requiresArg: true, describe: 'where CIFAR-10 is (MNIST comes packaged)' })
      .example('$0 run all --profile quick', 'every experiment, small scale, then: hw1-onnx report')
      .example('$0 run 1-1 --profile full --jobs 2', 'section 1-1 at full scale, two runs at a time'),
  handler: async (args: Record<string, unknown>) => {
    if (args.list) {
      for (const experiment of experiments) {
        const quick = experiment.plan('quick', 1).runs.length;
        const full = experiment.plan('full', 1).runs.length;
        console.log(`${experiment.id.padEnd(16)} section ${experiment.section}  ${experiment.title} (${quick} runs quick, ${full} full)`);
      }
      return;
    }
    const profile = checkProfile(args.profile);
    const ep = providerFlag(args.ep);
    const selected = selectExperiments((args.experiments as string[] | undefined) ?? [], experiments);
    ensureWritableFolder(String(args.out));
    const summary = await runSuite(
      selected,
      {
        profile,
        seed: wholeNumberFlag('seed', args.seed, 0),
        ep,
        jobs: wholeNumberFlag('jobs', args.jobs, 1),
        threads: args.threads === undefined ? undefined : wholeNumberFlag('threads', args.threads, 1),
        force: Boolean(args.force),
        tune: Boolean(args.tune),
        shard: args.shard === undefined ? undefined : parseShard(String(args.shard)),
        outDir: String(args.out),
        dataDir: args['data-dir'] as string | undefined,
        registry,
      },
      terminalProgress(),
    );
    console.log(
      `done in ${summary.seconds.toFixed(1)} s: ${summary.executed} run(s) executed, ${summary.skipped} skipped as finished${summary.diverged.length ? `, diverged: ${summary.diverged.join(', ')}` : ''}${summary.missingData.length ? `, ${summary.missingData.length} skipped for missing data (see above)` : ''}; write the report with: hw1-onnx report${String(args.out) === 'out' ? '' : ` --out ${String(args.out)}`}`,
    );
  },
};

export const reportCommand = {
  command: 'report',
  describe: 'write out/report.md and a self-contained out/report.html',
  builder: (yargs: Argv) =>
    yargs
      .option('profile', { type: 'string', requiresArg: true, describe: 'report this profile (default: each experiment\'s newest results)' })
      .option('seed', { type: 'number', requiresArg: true, describe: 'report this seed (default: that of the newest results)' })
      .option('out', { type: 'string', requiresArg: true, default: 'out', describe: 'folder with the results' }),
  handler: async (args: Record<string, unknown>) => {
    // Flags first, then the folder: a bad flag is reported as such wherever it is run.
    const profile = args.profile === undefined ? undefined : checkProfile(args.profile);
    const seed = args.seed === undefined ? undefined : wholeNumberFlag('seed', args.seed, 0);
    const outDir = String(args.out);
    if (outDir.trim() === '' || experiments.every((experiment) => recordedRuns(outDir, experiment.id).length === 0)) {
      throw new UserError(`no experiment results in "${outDir}" (run some first: hw1-onnx run all --profile quick --out ${outDir || 'out'})`);
    }
    const summary = await writeReport(experiments, { outDir, profile, seed });
    for (const section of summary.sections) {
      const count = section.planned === 0 ? 'an analysis of other runs' : `${section.runs}/${section.planned} runs`;
      console.log(`${section.experiment.padEnd(16)} ${count}${section.profile ? ` (${section.profile})` : ' (not run yet)'}`);
    }
    console.log(`wrote ${summary.markdownPath} and ${summary.htmlPath}`);
  },
};
