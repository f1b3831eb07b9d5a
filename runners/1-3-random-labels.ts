/**
 * HW1 1-3, "can the network fit random labels?" (Zhang et al. 2017): the
 * slides' MNIST network (three hidden layers of 256) trained on training
 * labels permuted by a seeded permutation, the test labels real, until the
 * training accuracy passes a share or an epoch limit.
 */
import { join } from 'node:path';
import { writeChart } from '../src/charts/lineChart.ts';
import type { Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunResult } from '../src/experiments/types.ts';
import { dense, flatten, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential } from '../src/nn/model.ts';

export interface RandomLabelsScale {
  /** Training examples (undefined: all 60,000) and test examples. */
  limitTrain?: number;
  limitTest?: number;
  /** Stop once an epoch's training accuracy reaches this share... */
  targetAccuracy: number;
  /** ...or after this many epochs. */
  maxEpochs: number;
  /** The learning rate times `factor` after each of these epochs. */
  lrDrops?: { epochs: number[]; factor: number };
}

const PROFILES: Record<Profile, RandomLabelsScale> = {
  quick: { limitTrain: 2000, limitTest: 2000, targetAccuracy: 0.9, maxEpochs: 150 },
  // Adam at a constant 1e-3 memorizes all 60,000 images slowly (78.3% after
  // 400 epochs). Each drop of the rate lets it keep more of what it fitted
  // (49.9% -> 55.7% in the epoch after a drop at 60), and at the same
  // accuracy 3e-4 and 9e-5 climbed faster than 1e-3, but 2.7e-5 crawled
  // (drops at 60, 120, 180: 77.1% at 180, 82.5% at 600). So two drops, then 9e-5.
  full: { targetAccuracy: 0.9, maxEpochs: 900, lrDrops: { epochs: [60, 120], factor: 0.3 } },
};

export const randomLabelsModel = sequential(
  'mnist-random-labels',
  { description: 'MNIST classifier 784-256-256-256-10 with ReLU (the slides\' model)', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [flatten(), dense(256), relu(), dense(256), relu(), dense(256), relu(), dense(10)],
);

const BATCH = 64;
const LR = 1e-3;

/** The experiment at the given scales (tests run it smaller than the quick profile). */
export function randomLabelsStudy(scales: Record<Profile, RandomLabelsScale> = PROFILES): Experiment {
  return {
    id: '1-3-random-labels',
    section: '1-3',
    title: 'Generalization: can the network fit random labels?',

    plan(profile, seed) {
      const s = scales[profile];
      const subset = s.limitTrain ? `the first ${s.limitTrain.toLocaleString('en-US')} training and ${s.limitTest?.toLocaleString('en-US')} test images` : 'all 60,000 training and 10,000 test images';
      return {
        runs: [
          {
            key: 'random-labels',
            label: 'random training labels',
            group: 'mnist',
            model: randomLabelsModel,
            data: { limitTrain: s.limitTrain, limitTest: s.limitTest, permuteTrainLabels: seed },
            training: { epochs: s.maxEpochs, batchSize: BATCH, optimizer: 'adam', lr: LR, lrDrops: s.lrDrops, evalEvery: 1, stopAtTrainAccuracy: s.targetAccuracy },
            seed,
          },
        ],
        settings: {
          model: `784-256-256-256-10 ReLU, ${resolveModel(randomLabelsModel).parameterCount.toLocaleString('en-US')} parameters, PyTorch's default initialization (seed ${seed})`,
          data: `MNIST, ${subset}; the training labels replaced by a permutation of themselves drawn with seed ${seed} (every class keeps its count; an image keeps its own label only by chance, about 1 in 10), the test labels real`,
          training: `Adam ${LR}${s.lrDrops ? ` times ${s.lrDrops.factor} after epochs ${s.lrDrops.epochs.join(', ')}` : ''}, batch ${BATCH}, cross-entropy, until an epoch's training accuracy (the mean over its batches) reaches ${formatPercent(s.targetAccuracy)} or ${s.maxEpochs} epochs; the test set is evaluated after every epoch`,
        },
      };
    },

    async charts(results, outDir) {
      const run = results.runs[0];
      if (!run) return [];
      const tested = run.epochs.filter((e) => e.testLoss !== undefined);
      const lossPath = join(results.experiment, 'loss.png');
      await writeChart(join(outDir, lossPath), {
        title: 'Random labels: training and test loss per epoch',
        xLabel: 'epoch',
        yLabel: 'cross-entropy',
        integerX: true,
        colorOrder: ['train', 'test'],
        series: [
          { label: 'train (random labels)', colorKey: 'train', points: run.epochs.map((e) => ({ x: e.epoch, y: e.trainLoss })) },
          { label: 'test (real labels)', colorKey: 'test', points: tested.map((e) => ({ x: e.epoch, y: e.testLoss! })) },
        ],
      });
      const accuracyPath = join(results.experiment, 'accuracy.png');
      await writeChart(join(outDir, accuracyPath), {
        title: 'Random labels: training and test accuracy per epoch',
        xLabel: 'epoch',
        yLabel: 'accuracy (%)',
        integerX: true,
        colorOrder: ['train', 'test'],
        series: [
          { label: 'train (random labels)', colorKey: 'train', points: run.epochs.map((e) => ({ x: e.epoch, y: 100 * e.trainAccuracy! })) },
          { label: 'test (real labels)', colorKey: 'test', points: tested.map((e) => ({ x: e.epoch, y: 100 * e.testAccuracy! })) },
        ],
      });
      return [
        { path: lossPath, caption: 'Training loss on the permuted labels and test loss on the real ones, per epoch (the slides\' figure).' },
        { path: accuracyPath, caption: 'Training accuracy on the permuted labels and test accuracy on the real ones, per epoch.' },
      ];
    },

    report(results, charts) {
      const lines = [...settingsSection(results.settings)];
      const run = results.runs[0];
      if (!run) return lines.join('\n');
      const target = scales[results.profile].targetAccuracy;
      lines.push(
        markdownTable(
          ['epochs', 'training loss', 'training accuracy', 'test loss', 'test accuracy', 'seconds', 'seconds per epoch'],
          [[String(run.epochs.length), formatNumber(run.final.trainLoss), formatPercent(run.final.trainAccuracy), formatNumber(run.final.testLoss), formatPercent(run.final.testAccuracy), run.seconds.toFixed(1), (run.seconds / run.epochs.length).toFixed(2)]],
        ),
        '',
      );
      for (const chart of charts) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      lines.push(...observations(run, target), '');
      return lines.join('\n');
    },
  };
}

/** What the run shows, from its numbers. */
function observations(run: RunResult, target: number): string[] {
  const tested = run.epochs.filter((e) => e.testLoss !== undefined);
  const half = run.epochs.find((e) => e.trainAccuracy! >= 0.5);
  const bestTest = tested.reduce((best, e) => (e.testAccuracy! > best.testAccuracy! ? e : best), tested[0]!);
  const lowestTestLoss = tested.reduce((best, e) => (e.testLoss! < best.testLoss! ? e : best), tested[0]!);
  const first = run.epochs[0]!;
  return [
    run.stoppedEarly
      ? `- The network memorized the random labels: the training accuracy reached ${formatPercent(run.epochs.at(-1)!.trainAccuracy)} after ${run.stoppedEarly.epoch} epochs (${run.seconds.toFixed(0)} s), from ${formatPercent(first.trainAccuracy)} in the first epoch${half ? `; it passed 50% at epoch ${half.epoch}` : ''}.`
      : `- Within ${run.epochs.length} epochs the training accuracy reached ${formatPercent(run.epochs.at(-1)!.trainAccuracy)}, short of the ${formatPercent(target)} the run aimed at: memorizing random labels is slow, and this is how far it got.`,
    `- Meanwhile the test accuracy (real labels) stayed near chance: at most ${formatPercent(bestTest.testAccuracy)} (epoch ${bestTest.epoch}), ${formatPercent(run.final.testAccuracy)} at the end; nothing learned from permuted labels carries over to real ones.`,
    `- The test loss was lowest at epoch ${lowestTestLoss.epoch} (${formatNumber(lowestTestLoss.testLoss)}) and ${run.final.testLoss > lowestTestLoss.testLoss! ? `rose to ${formatNumber(run.final.testLoss)} as the training loss fell from ${formatNumber(first.trainLoss)} to ${formatNumber(run.final.trainLoss)}: the more the network memorizes, the more confidently wrong it is on new images` : 'did not rise'}.`,
  ];
}

export const randomLabelsExperiment = randomLabelsStudy();
