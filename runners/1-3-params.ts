/**
 * HW1 1-3, "number of parameters vs generalization": networks of one shape
 * (two hidden ReLU layers of equal width) and increasing width on MNIST and
 * CIFAR-10, spanning more than two orders of magnitude of parameters, each
 * trained the same way; train and test loss and accuracy against the count.
 */
import { join } from 'node:path';
import { writeChart } from '../src/charts/lineChart.ts';
import { spearman } from '../src/analysis/curves.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunResult, RunSpec, TrainingSettings } from '../src/experiments/types.ts';
import { dense, flatten, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential, type ModelDeclaration } from '../src/nn/model.ts';
import { IMAGE_DATASETS, type ImageDatasetName } from './imageDatasets.ts';

const DATASETS = IMAGE_DATASETS;
type DatasetName = ImageDatasetName;

export interface ParamsScale {
  widths: readonly number[];
  limits: Record<DatasetName, { limitTrain?: number; limitTest?: number }>;
  epochs: Record<DatasetName, number>;
}

const WIDTHS = [2, 4, 8, 16, 24, 32, 48, 64, 128, 256, 512];

const PROFILES: Record<Profile, ParamsScale> = {
  quick: { widths: WIDTHS, limits: { mnist: { limitTrain: 5000, limitTest: 1000 }, cifar10: { limitTrain: 5000, limitTest: 1000 } }, epochs: { mnist: 4, cifar10: 4 } },
  full: { widths: WIDTHS, limits: { mnist: {}, cifar10: {} }, epochs: { mnist: 20, cifar10: 10 } },
};

const TRAINING: Omit<TrainingSettings, 'epochs'> = { batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 1 };

/** input → width → width → 10, ReLU: the shape every network of the sweep shares. */
export function widthModel(dataset: DatasetName, width: number): ModelDeclaration {
  const { name, inputShape } = DATASETS[dataset];
  const inputs = inputShape.reduce((a: number, b: number) => a * b, 1);
  return sequential(`${dataset}-width-${width}`, { description: `${name} classifier ${inputs}-${width}-${width}-10 with ReLU`, task: 'classification', inputShape: [...inputShape], dataset }, [
    flatten(),
    dense(width),
    relu(),
    dense(width),
    relu(),
    dense(10),
  ]);
}

/** The experiment at the given scales (tests run it smaller than the quick profile). */
export function paramsStudy(scales: Record<Profile, ParamsScale> = PROFILES): Experiment {
  return {
    id: '1-3-params',
    section: '1-3',
    title: 'Generalization: number of parameters vs generalization',

    plan(profile, seed) {
      const s = scales[profile];
      const runs: RunSpec[] = (Object.keys(DATASETS) as DatasetName[]).flatMap((dataset) =>
        s.widths.map((width) => {
          const model = widthModel(dataset, width);
          return {
            key: `${dataset}-width-${String(width).padStart(3, '0')}`,
            label: `width ${width} (${resolveModel(model).parameterCount.toLocaleString('en-US')} parameters)`,
            group: dataset,
            model,
            data: s.limits[dataset],
            training: { ...TRAINING, epochs: s.epochs[dataset] },
            seed,
            record: { evaluateTrain: true },
          };
        }),
      );
      const counts = (dataset: DatasetName) => runs.filter((r) => r.group === dataset).map((r) => resolveModel(r.model).parameterCount);
      const subset = (dataset: DatasetName) => {
        const l = s.limits[dataset];
        return l.limitTrain ? `the first ${l.limitTrain.toLocaleString('en-US')} training and ${l.limitTest?.toLocaleString('en-US')} test images` : 'the whole training and test sets';
      };
      return {
        runs,
        settings: {
          models: `input-w-w-10 with ReLU for w in ${s.widths.join(', ')}: MNIST ${Math.min(...counts('mnist')).toLocaleString('en-US')} to ${Math.max(...counts('mnist')).toLocaleString('en-US')} parameters, CIFAR-10 ${Math.min(...counts('cifar10')).toLocaleString('en-US')} to ${Math.max(...counts('cifar10')).toLocaleString('en-US')} (counted from the declarations)`,
          data: `MNIST: ${subset('mnist')}; CIFAR-10 (per-channel normalized, where present): ${subset('cifar10')}`,
          training: `Adam ${TRAINING.lr}, batch ${TRAINING.batchSize}, cross-entropy; MNIST ${s.epochs.mnist} epochs, CIFAR-10 ${s.epochs.cifar10}; the same seed (${seed}) for every width. Train loss and accuracy are measured on the whole training subset after the last epoch (not the epoch's running mean), test on the test subset`,
        },
      };
    },

    async charts(results, outDir) {
      const charts: ChartFile[] = [];
      for (const dataset of Object.keys(DATASETS) as DatasetName[]) {
        const runs = byCount(results.runs.filter((run) => run.group === dataset));
        if (runs.length === 0) continue;
        const name = DATASETS[dataset].name;
        const point = (run: RunResult, y: number) => ({ x: run.model.parameterCount, y });
        const lossPath = join(results.experiment, `${dataset}-loss.png`);
        await writeChart(join(outDir, lossPath), {
          title: `${name}: loss against the number of parameters`,
          xLabel: 'parameters (log scale)',
          yLabel: 'cross-entropy (log scale)',
          logX: true,
          logY: true,
          colorOrder: ['train', 'test'],
          series: [
            { label: 'train', colorKey: 'train', points: runs.map((run) => point(run, run.final.evaluatedTrainLoss ?? run.final.trainLoss)) },
            { label: 'test', colorKey: 'test', points: runs.map((run) => point(run, run.final.testLoss)) },
          ],
        });
        const accuracyPath = join(results.experiment, `${dataset}-accuracy.png`);
        await writeChart(join(outDir, accuracyPath), {
          title: `${name}: accuracy against the number of parameters`,
          xLabel: 'parameters (log scale)',
          yLabel: 'accuracy (%)',
          logX: true,
          colorOrder: ['train', 'test'],
          series: [
            { label: 'train', colorKey: 'train', points: runs.map((run) => point(run, 100 * (run.final.evaluatedTrainAccuracy ?? run.final.trainAccuracy!))) },
            { label: 'test', colorKey: 'test', points: runs.map((run) => point(run, 100 * run.final.testAccuracy!)) },
          ],
        });
        charts.push(
          { path: lossPath, caption: `${name}: train and test loss of each width after training, against its parameter count.` },
          { path: accuracyPath, caption: `${name}: train and test accuracy of each width, against its parameter count.` },
        );
      }
      return charts;
    },

    report(results, charts) {
      const lines = [...settingsSection(results.settings)];
      for (const dataset of Object.keys(DATASETS) as DatasetName[]) {
        const runs = byCount(results.runs.filter((run) => run.group === dataset));
        if (runs.length === 0) continue;
        lines.push(`#### ${DATASETS[dataset].name}`, '');
        lines.push(
          markdownTable(
            ['width', 'parameters', 'train loss', 'test loss', 'train accuracy', 'test accuracy', 'test - train loss', 'seconds'],
            runs.map((run) => [
              run.key.replace(`${dataset}-width-`, '').replace(/^0+/, ''),
              run.model.parameterCount.toLocaleString('en-US'),
              formatNumber(trainLoss(run)),
              formatNumber(run.final.testLoss),
              formatPercent(trainAccuracy(run)),
              formatPercent(run.final.testAccuracy),
              formatNumber(run.final.testLoss - trainLoss(run)),
              run.seconds.toFixed(1),
            ]),
          ),
          '',
        );
        for (const chart of charts.filter((c) => c.path.includes(`/${dataset}-`))) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
        lines.push(...observations(runs), '');
      }
      return lines.join('\n');
    },
  };
}

const byCount = (runs: RunResult[]) => [...runs].sort((a, b) => a.model.parameterCount - b.model.parameterCount);
const trainLoss = (run: RunResult) => run.final.evaluatedTrainLoss ?? run.final.trainLoss;
const trainAccuracy = (run: RunResult) => run.final.evaluatedTrainAccuracy ?? run.final.trainAccuracy!;

/** Where the test loss stops falling, how the gap grows: from the numbers. */
function observations(runs: RunResult[]): string[] {
  const bestTestLoss = runs.reduce((best, run) => (run.final.testLoss < best.final.testLoss ? run : best));
  const bestTestAccuracy = runs.reduce((best, run) => (run.final.testAccuracy! > best.final.testAccuracy! ? run : best));
  const counts = runs.map((run) => run.model.parameterCount);
  const gaps = runs.map((run) => run.final.testLoss - trainLoss(run));
  const gapTrend = spearman(counts, gaps);
  const largest = runs.at(-1)!;
  return [
    `- Parameters span ${counts[0]!.toLocaleString('en-US')} to ${counts.at(-1)!.toLocaleString('en-US')} (${(counts.at(-1)! / counts[0]!).toFixed(0)} times).`,
    `- The training loss falls with size (from ${formatNumber(trainLoss(runs[0]!))} to ${formatNumber(trainLoss(largest))}); the test loss is lowest at ${bestTestLoss.model.parameterCount.toLocaleString('en-US')} parameters (${formatNumber(bestTestLoss.final.testLoss)})${bestTestLoss === largest ? ', the largest network: within this range it has not stopped falling' : ` and ${formatNumber(largest.final.testLoss)} at the largest: it stops falling there while the training loss keeps falling`}.`,
    `- Test accuracy is highest at ${bestTestAccuracy.model.parameterCount.toLocaleString('en-US')} parameters (${formatPercent(bestTestAccuracy.final.testAccuracy)}), ${bestTestAccuracy === largest ? 'the largest network' : `against ${formatPercent(largest.final.testAccuracy)} at the largest`}.`,
    `- The generalization gap (test − train loss) against the parameter count: Spearman ${Number.isFinite(gapTrend) ? gapTrend.toFixed(2) : 'n/a'} (${gapTrend > 0.5 ? 'the gap widens as the networks grow, as the slides show' : gapTrend < -0.5 ? 'the gap narrows as the networks grow' : 'no clear trend'}); from ${formatNumber(gaps[0])} to ${formatNumber(gaps.at(-1))}.`,
  ];
}

export const paramsExperiment = paramsStudy();
