/**
 * HW1 1-2, "observe gradient norm during training": the loss and the
 * gradient 2-norm over all parameters (before the update) at every
 * iteration, for a function fit and for MNIST, drawn in one figure each.
 */
import { join } from 'node:path';
import funcDeep from '../models/func-deep.ts';
import mnistDnn from '../models/mnist-dnn.ts';
import { summarizeGradNorm, type GradNormSummary } from '../src/analysis/curves.ts';
import { writeChart } from '../src/charts/lineChart.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, settingsSection, thin } from '../src/experiments/summaries.ts';
import type { Profile, RunResult, RunSpec } from '../src/experiments/types.ts';

const PROFILES: Record<Profile, { functionEpochs: number; mnistEpochs: number; mnistLimit?: number }> = {
  quick: { functionEpochs: 2000, mnistEpochs: 2, mnistLimit: 10000 },
  full: { functionEpochs: 20000, mnistEpochs: 5 },
};

const TASKS = {
  sinc: { title: 'sin(5πx)/(5πx), 1-10-18-15-4-1 ReLU', loss: 'MSE' },
  mnist: { title: 'MNIST, 784-256-256-10 ReLU', loss: 'cross-entropy' },
} as const;

export const gradNormExperiment: Experiment = {
  id: '1-2-gradnorm',
  section: '1-2',
  title: 'Optimization: gradient norm and loss at every iteration',

  plan(profile, seed) {
    const p = PROFILES[profile];
    const runs: RunSpec[] = [
      {
        key: 'sinc',
        label: TASKS.sinc.title,
        group: 'sinc',
        model: funcDeep,
        data: { limitTrain: 1000 },
        training: { epochs: p.functionEpochs, batchSize: 'full-batch', optimizer: 'adam', lr: 1e-3, evalEvery: p.functionEpochs },
        seed,
        record: { steps: true },
      },
      {
        key: 'mnist',
        label: TASKS.mnist.title,
        group: 'mnist',
        model: mnistDnn,
        data: { limitTrain: p.mnistLimit },
        training: { epochs: p.mnistEpochs, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 1 },
        seed,
        record: { steps: true },
      },
    ];
    return {
      runs,
      settings: {
        function: `${TASKS.sinc.title} (572 parameters), 1,000 points of (0, 1], full batch, Adam 1e-3, ${p.functionEpochs.toLocaleString('en-US')} iterations`,
        mnist: `${TASKS.mnist.title} (269,322 parameters), ${p.mnistLimit ? `the first ${p.mnistLimit.toLocaleString('en-US')}` : 'all 60,000'} training images, batch 64, Adam 1e-3, ${p.mnistEpochs} epochs`,
        'gradient norm': 'sqrt of the sum of squares of the loss gradient over all parameters, of each step\'s batch, before the update (the train step graph\'s own grad_norm output); the loss is the same batch\'s',
        initialization: `PyTorch's default, seed ${seed}`,
      },
    };
  },

  async charts(results, outDir) {
    const charts: ChartFile[] = [];
    for (const run of results.runs) {
      const steps = run.steps!;
      const points = thin(steps.loss.map((loss, i) => ({ i: i + 1, loss, gradNorm: steps.gradNorm[i]! })), 2000);
      // Full-batch steps are smooth already; mini-batch ones get a running mean over about 1% of the run.
      const window = run.training.batchSize === 'full-batch' ? 1 : Math.max(1, Math.round(steps.loss.length / 100));
      const path = join(results.experiment, `${run.key}.png`);
      const task = TASKS[run.key as keyof typeof TASKS];
      await writeChart(join(outDir, path), {
        title: `${task.title}: loss and gradient norm at every iteration`,
        xLabel: 'iteration',
        yLabel: `training loss (${task.loss}, log scale)`,
        y2Label: 'gradient norm ||∇L||₂ (log scale)',
        logY: true,
        logY2: true,
        width: 1000,
        // chart.js draws the first series on top: the running means (mini-batch curves are noisy) go first.
        series: [
          ...(window > 1
            ? [
                { label: `loss, mean of ${window} iterations`, colorKey: 'loss mean', points: runningMean(steps.loss, window) },
                { label: `gradient norm, mean of ${window}`, colorKey: 'gradient norm mean', axis: 'right' as const, points: runningMean(steps.gradNorm, window) },
              ]
            : []),
          { label: 'loss', colorKey: 'loss', points: points.map((p) => ({ x: p.i, y: p.loss })) },
          { label: 'gradient norm', colorKey: 'gradient norm', axis: 'right', points: points.map((p) => ({ x: p.i, y: p.gradNorm })) },
        ],
        colorOrder: ['loss', 'gradient norm', 'loss mean', 'gradient norm mean'],
      });
      charts.push({ path, caption: `${task.title}: the training loss (left axis) and the gradient norm (right axis) of every iteration${points.length < steps.loss.length ? ` (${points.length} of ${steps.loss.length} iterations drawn, evenly spaced)` : ''}.` });
    }
    return charts;
  },

  report(results, charts) {
    const lines = [...settingsSection(results.settings)];
    for (const run of results.runs) {
      const chart = charts.find((c) => c.path.endsWith(`/${run.key}.png`));
      if (chart) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      lines.push(...observations(run, summarizeGradNorm(run.steps!.loss, run.steps!.gradNorm)), '');
    }
    return lines.join('\n');
  },
};

function observations(run: RunResult, s: GradNormSummary): string[] {
  const task = TASKS[run.key as keyof typeof TASKS];
  const rho = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');
  const step = (n: number) => n.toLocaleString('en-US');
  return [
    `${task.title}, ${step(s.steps)} iterations:`,
    '',
    `- The gradient norm starts at ${formatNumber(s.first.gradNorm)} and ends at ${formatNumber(s.last.gradNorm)} while the loss goes from ${formatNumber(s.first.loss)} to ${formatNumber(s.last.loss)}. ` +
      `Its highest value is ${formatNumber(s.peak.gradNorm)} at iteration ${step(s.peak.step)}${s.laterPeak.step !== s.peak.step ? `; after the first tenth of the run, ${formatNumber(s.laterPeak.gradNorm)} at iteration ${step(s.laterPeak.step)} (loss ${formatNumber(s.laterPeak.loss)})` : ''}.`,
    `- Over ${s.windows.length} equal slices of the run: in the quarter where the loss fell least (${s.flatDrop >= 0 ? `by ${(100 * s.flatDrop).toFixed(1)}% or less` : `where it even rose, by ${(-100 * s.flatDrop).toFixed(1)}% or more, from batch to batch noise`} within a slice) the mean gradient norm was ${formatNumber(s.flatGradNorm)}, in the tenth where it fell most ${formatNumber(s.steepGradNorm)}.`,
    `- Spearman's rank correlation between a slice's mean gradient norm and the loss drop in the same slice is ${rho(s.dropCorrelation)}, and in the next slice ${rho(s.leadCorrelation)}: ${
      s.leadCorrelation > s.dropCorrelation + 0.1 ? 'the gradient grows before the loss drops' : s.dropCorrelation > 0.3 ? 'large gradients come with fast progress' : 'the gradient norm alone says little about when the loss drops'
    }.`,
  ];
}

/** The mean of each run of `window` consecutive values, at the run's last iteration (thinned for drawing). */
function runningMean(values: readonly number[], window: number): Array<{ x: number; y: number }> {
  const out: Array<{ x: number; y: number }> = [];
  let sum = 0;
  values.forEach((v, i) => {
    sum += v;
    if (i >= window) sum -= values[i - window]!;
    if (i >= window - 1) out.push({ x: i + 1, y: sum / window });
  });
  return thin(out, 2000);
}
