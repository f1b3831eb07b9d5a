/**
 * HW1 1-1, "train on an actual task": a shallow and a deep fully connected
 * network and a CNN of similar parameter counts, on MNIST and on CIFAR-10.
 */
import { join } from 'node:path';
import { writeChart } from '../src/charts/lineChart.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunResult, RunSpec, TrainingSettings } from '../src/experiments/types.ts';
import { conv2d, dense, flatten, maxPool2d, relu } from '../src/nn/layers.ts';
import type { LayerDeclaration } from '../src/nn/layer.ts';
import { sequential, type ModelDeclaration } from '../src/nn/model.ts';

interface TaskModel {
  key: string;
  label: string;
  layers: () => LayerDeclaration[];
}

const cnn = (fc: number): LayerDeclaration[] => [conv2d(16, 5), relu(), maxPool2d(2), conv2d(32, 5), relu(), maxPool2d(2), flatten(), dense(fc), relu(), dense(10)];

/** Per data set, three models whose parameter counts agree within about 7%. */
const TASKS: Record<'mnist' | 'cifar10', { name: string; inputShape: number[]; models: TaskModel[] }> = {
  mnist: {
    name: 'MNIST',
    inputShape: [1, 28, 28],
    models: [
      { key: 'dnn-shallow', label: 'shallow DNN 784-32-10', layers: () => [flatten(), dense(32), relu(), dense(10)] },
      { key: 'dnn-deep', label: 'deep DNN 784-29-29-29-10', layers: () => [flatten(), dense(29), relu(), dense(29), relu(), dense(29), relu(), dense(10)] },
      { key: 'cnn', label: 'CNN conv16-pool-conv32-pool-24-10', layers: () => cnn(24) },
    ],
  },
  cifar10: {
    name: 'CIFAR-10',
    inputShape: [3, 32, 32],
    models: [
      { key: 'dnn-shallow', label: 'shallow DNN 3072-32-10', layers: () => [flatten(), dense(32), relu(), dense(10)] },
      { key: 'dnn-deep', label: 'deep DNN 3072-30-30-30-10', layers: () => [flatten(), dense(30), relu(), dense(30), relu(), dense(30), relu(), dense(10)] },
      { key: 'cnn', label: 'CNN conv16-pool-conv32-pool-96-10', layers: () => cnn(96) },
    ],
  },
};

const PROFILES: Record<Profile, { training: TrainingSettings; limits: Record<string, { limitTrain?: number; limitTest?: number }> }> = {
  quick: {
    training: { epochs: 3, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 1 },
    limits: { mnist: { limitTrain: 10000, limitTest: 2000 }, cifar10: { limitTrain: 10000, limitTest: 2000 } },
  },
  full: {
    training: { epochs: 20, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 1 },
    limits: { mnist: {}, cifar10: {} },
  },
};

function taskModel(dataset: 'mnist' | 'cifar10', model: TaskModel): ModelDeclaration {
  const task = TASKS[dataset];
  return sequential(`${dataset}-${model.key}`, { description: `${task.name}: ${model.label}`, task: 'classification', inputShape: task.inputShape, dataset }, model.layers());
}

export const tasksExperiment: Experiment = {
  id: '1-1-tasks',
  section: '1-1',
  title: 'Deep vs shallow: train on actual tasks',

  plan(profile, seed) {
    const { training, limits } = PROFILES[profile];
    const runs: RunSpec[] = (Object.keys(TASKS) as Array<'mnist' | 'cifar10'>).flatMap((dataset) =>
      TASKS[dataset].models.map((model) => ({
        key: `${dataset}-${model.key}`,
        label: model.label,
        group: dataset,
        model: taskModel(dataset, model),
        data: limits[dataset]!,
        training,
        seed,
      })),
    );
    const sizes = (dataset: string) => {
      const l = limits[dataset]!;
      return l.limitTrain ? `the first ${l.limitTrain} training and ${l.limitTest} test images` : 'the full training and test sets';
    };
    return {
      runs,
      settings: {
        data: `MNIST: ${sizes('mnist')}; CIFAR-10: ${sizes('cifar10')} (per-channel normalized)`,
        training: `${training.optimizer}, learning rate ${training.lr}, batch ${training.batchSize}, ${training.epochs} epochs, cross-entropy; training loss and accuracy are averages over each epoch's batches, test figures are measured after each epoch`,
        initialization: `PyTorch's default, seed ${seed}`,
      },
    };
  },

  async charts(results, outDir) {
    const charts: ChartFile[] = [];
    for (const dataset of Object.keys(TASKS) as Array<'mnist' | 'cifar10'>) {
      const runs = results.runs.filter((run) => run.group === dataset);
      if (runs.length === 0) continue;
      const name = TASKS[dataset].name;
      const order = TASKS[dataset].models.map((m) => m.key);
      const colorKey = (run: RunResult) => run.key.replace(`${dataset}-`, '');
      const lossPath = join(results.experiment, `${dataset}-loss.png`);
      await writeChart(join(outDir, lossPath), {
        title: `${name}: training loss of every model`,
        xLabel: 'epoch',
        yLabel: 'training loss (cross-entropy)',
        logY: true,
        integerX: true,
        colorOrder: order,
        series: runs.map((run) => ({
          label: `${run.label} (${run.model.parameterCount.toLocaleString('en-US')} params)`,
          colorKey: colorKey(run),
          points: run.epochs.map((e) => ({ x: e.epoch, y: e.trainLoss })),
        })),
      });
      charts.push({ path: lossPath, caption: `${name}: training loss per epoch (log scale).` });
      const accuracyPath = join(results.experiment, `${dataset}-accuracy.png`);
      await writeChart(join(outDir, accuracyPath), {
        title: `${name}: training accuracy (solid) and test accuracy (dashed)`,
        xLabel: 'epoch',
        yLabel: 'accuracy (%)',
        integerX: true,
        colorOrder: order,
        series: runs.flatMap((run) => [
          { label: `${run.label}, train`, colorKey: colorKey(run), points: run.epochs.map((e) => ({ x: e.epoch, y: 100 * e.trainAccuracy! })) },
          {
            label: `${run.label}, test`,
            colorKey: colorKey(run),
            dashed: true,
            points: run.epochs.filter((e) => e.testAccuracy !== undefined).map((e) => ({ x: e.epoch, y: 100 * e.testAccuracy! })),
          },
        ]),
      });
      charts.push({ path: accuracyPath, caption: `${name}: training accuracy (solid) and test accuracy (dashed) per epoch.` });
    }
    return charts;
  },

  report(results, charts) {
    const lines: string[] = [...settingsSection(results.settings)];
    for (const dataset of Object.keys(TASKS) as Array<'mnist' | 'cifar10'>) {
      const runs = results.runs.filter((run) => run.group === dataset);
      if (runs.length === 0) continue;
      lines.push(`#### ${TASKS[dataset].name}`, '');
      lines.push(
        markdownTable(
          ['model', 'parameters', 'final training loss', 'training accuracy', 'test loss', 'test accuracy', 'seconds'],
          runs.map((run) => [
            run.label,
            run.model.parameterCount.toLocaleString('en-US'),
            formatNumber(run.final.trainLoss),
            formatPercent(run.final.trainAccuracy),
            formatNumber(run.final.testLoss),
            formatPercent(run.final.testAccuracy),
            run.seconds.toFixed(1),
          ]),
        ),
        '',
      );
      for (const chart of charts.filter((c) => c.path.includes(`/${dataset}-`))) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      const byTest = [...runs].sort((a, b) => b.final.testAccuracy! - a.final.testAccuracy!);
      const byLoss = [...runs].sort((a, b) => a.final.trainLoss - b.final.trainLoss);
      const counts = runs.map((r) => r.model.parameterCount);
      lines.push(
        `- Parameter counts range from ${Math.min(...counts).toLocaleString('en-US')} to ${Math.max(...counts).toLocaleString('en-US')} (${((100 * (Math.max(...counts) - Math.min(...counts))) / Math.min(...counts)).toFixed(1)}% apart).`,
        `- Highest test accuracy: ${byTest[0]!.label} with ${formatPercent(byTest[0]!.final.testAccuracy)}, ${((100 * (byTest[0]!.final.testAccuracy! - byTest.at(-1)!.final.testAccuracy!))).toFixed(2)} points above the lowest (${byTest.at(-1)!.label}).`,
        `- Lowest final training loss: ${byLoss[0]!.label} (${formatNumber(byLoss[0]!.final.trainLoss)}).`,
        ...runs.map((run) => `- ${run.label}: training accuracy minus test accuracy at the end = ${(100 * (run.final.trainAccuracy! - run.final.testAccuracy!)).toFixed(2)} points.`),
        '',
      );
    }
    return lines.join('\n');
  },
};
