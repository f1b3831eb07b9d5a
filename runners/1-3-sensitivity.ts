/**
 * HW1 1-3, "flatness vs generalization, part 2: sensitivity": one network
 * trained with batch sizes from 16 to 4,096 (the same epochs, optimizer and
 * seed), on MNIST and, where present, CIFAR-10; for each, the train and test
 * loss and accuracy, and the sensitivity of the trained network to its input
 * by two definitions: the slides' ||∂ℓ/∂x||_F and the original one (Novak et
 * al. 2018), the Frobenius norm of the Jacobian of the class probabilities,
 * both as the mean over examples of each example's own norm.
 */
import { join } from 'node:path';
import { spearman } from '../src/analysis/curves.ts';
import { sensitivityEvaluator, type InputSensitivity } from '../src/analysis/sensitivity.ts';
import { writeChart, type Series } from '../src/charts/lineChart.ts';
import { locateCifar10 } from '../src/data/cifar10.ts';
import { dataForModel } from '../src/data/forModel.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunResult, RunSpec, TrainingSettings } from '../src/experiments/types.ts';
import { runWeights } from '../src/experiments/weights.ts';
import { dense, flatten, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential, type ModelDeclaration } from '../src/nn/model.ts';
import { MissingDataError } from '../src/util/errors.ts';
import { IMAGE_DATASETS, type ImageDatasetName } from './imageDatasets.ts';

const DATASETS = IMAGE_DATASETS;
type DatasetName = ImageDatasetName;

/** How much of one data set a profile uses. */
export interface SensitivityDataScale {
  /** Training and test examples (the first ones; undefined: all). */
  limitTrain?: number;
  limitTest?: number;
  /** The sensitivities are measured on the first this many training and test examples. */
  sensitivityTrain: number;
  sensitivityTest: number;
}

/** How much of the study a profile does. */
export interface SensitivityScale {
  batchSizes: readonly number[];
  /** The same for every batch size, so larger batches take fewer steps. */
  epochs: number;
  /** The data sets to train on; one left out is not planned (CIFAR-10 also not when it is missing). */
  datasets: Partial<Record<DatasetName, SensitivityDataScale>>;
  /** Examples per onnxruntime call of the sensitivity graphs (the results do not depend on it). */
  examplesPerCall: number;
}

const PROFILES: Record<Profile, SensitivityScale> = {
  quick: {
    batchSizes: [16, 64, 256, 1024, 4096],
    epochs: 2,
    datasets: {
      mnist: { limitTrain: 5000, limitTest: 1000, sensitivityTrain: 1000, sensitivityTest: 1000 },
      cifar10: { limitTrain: 5000, limitTest: 1000, sensitivityTrain: 500, sensitivityTest: 500 },
    },
    examplesPerCall: 100,
  },
  full: {
    batchSizes: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    epochs: 10,
    datasets: {
      mnist: { sensitivityTrain: 5000, sensitivityTest: 5000 },
      cifar10: { sensitivityTrain: 5000, sensitivityTest: 5000 },
    },
    examplesPerCall: 100,
  },
};

const TRAINING: Omit<TrainingSettings, 'epochs' | 'batchSize' | 'evalEvery'> = { optimizer: 'adam', lr: 1e-3 };

/** flatten → 256 → 256 → 10 with ReLU: MNIST's 784-256-256-10 (mnist-dnn), the same shape on CIFAR-10's 3,072 inputs. */
export function sensitivityModel(dataset: DatasetName): ModelDeclaration {
  const { name, inputShape } = DATASETS[dataset];
  const inputs = inputShape.reduce((a: number, b: number) => a * b, 1);
  return sequential(`${dataset}-sensitivity-dnn`, { description: `${name} classifier ${inputs}-256-256-10 with ReLU`, task: 'classification', inputShape: [...inputShape], dataset }, [
    flatten(),
    dense(256),
    relu(),
    dense(256),
    relu(),
    dense(10),
  ]);
}

/** Whether CIFAR-10 is where a run would look without --data-dir (HW1_DATA_DIR, data/, ../shared/data/). */
export function cifar10Present(): boolean {
  try {
    locateCifar10();
    return true;
  } catch (error) {
    if (error instanceof MissingDataError) return false;
    throw error;
  }
}

interface Measured {
  lossGradient: number;
  jacobian: number;
  /** The mean cross-entropy and accuracy on the same examples, from the sensitivity graphs. */
  loss: number;
  accuracy: number;
}

interface BatchRow {
  key: string;
  batchSize: number;
  /** Optimizer steps the run took: epochs × ⌈training examples / batch size⌉. */
  steps: number;
  status: RunResult['status'];
  /** The final weights on the whole training set (the epoch's running mean where the run did not evaluate it). */
  train: { loss: number; accuracy: number; evaluated: boolean };
  /** The run's final evaluation on the whole test set. */
  test: { loss: number; accuracy: number };
  /** Test loss − train loss. */
  gap: number;
  sensitivity: { train: Measured; test: Measured };
}

interface DatasetSensitivity {
  dataset: DatasetName;
  /** Examples the sensitivities are means over (the first ones of each set). */
  examples: { train: number; test: number };
  /** Training and test examples the runs used. */
  data: { train: number; test: number };
  perCall: number;
  seconds: number;
  rows: BatchRow[];
}

interface SensitivityAnalysis {
  datasets: DatasetSensitivity[];
}

const runKey = (dataset: DatasetName, batchSize: number) => `${dataset}-batch-${String(batchSize).padStart(4, '0')}`;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * The experiment at the given scales (tests run it smaller than the quick
 * profile). `cifar10Available` decides at planning time whether CIFAR-10
 * runs are planned: the analysis needs every planned run, so a missing
 * CIFAR-10 must not be planned, or MNIST would never be analyzed.
 */
export function sensitivityStudy(scales: Record<Profile, SensitivityScale> = PROFILES, options: { cifar10Available?: () => boolean } = {}): Experiment {
  const cifar10Available = options.cifar10Available ?? cifar10Present;
  const plannedDatasets = (s: SensitivityScale) =>
    (Object.keys(DATASETS) as DatasetName[]).filter((dataset) => s.datasets[dataset] !== undefined && (dataset !== 'cifar10' || cifar10Available()));

  const experiment: Experiment = {
    id: '1-3-sensitivity',
    section: '1-3',
    title: 'Generalization: flatness vs generalization, part 2 (sensitivity)',

    plan(profile, seed) {
      const s = scales[profile];
      const datasets = plannedDatasets(s);
      const runs: RunSpec[] = datasets.flatMap((dataset) =>
        s.batchSizes.map((batchSize) => ({
          key: runKey(dataset, batchSize),
          label: `batch ${batchSize}`,
          group: dataset,
          model: sensitivityModel(dataset),
          data: { limitTrain: s.datasets[dataset]!.limitTrain, limitTest: s.datasets[dataset]!.limitTest },
          training: { ...TRAINING, epochs: s.epochs, batchSize, evalEvery: s.epochs },
          seed,
          record: { evaluateTrain: true },
        })),
      );
      const described = (dataset: DatasetName) => {
        const d = s.datasets[dataset]!;
        const sets = d.limitTrain !== undefined ? `the first ${count(d.limitTrain)} training and ${d.limitTest !== undefined ? count(d.limitTest) : 'all'} test images` : 'the whole training and test sets';
        return `${DATASETS[dataset].name}: ${sets}; sensitivities on the first ${count(d.sensitivityTrain)} training images (among those trained on) and the first ${count(d.sensitivityTest)} test images`;
      };
      const settings: Record<string, string> = {
        models: datasets.map((dataset) => `${DATASETS[dataset].name} ${resolveModel(sensitivityModel(dataset)).description.replace(/^.* classifier /, '')} (${count(resolveModel(sensitivityModel(dataset)).parameterCount)} parameters)`).join('; '),
        data: datasets.map(described).join('; ') + (datasets.includes('cifar10') ? ' (CIFAR-10 standardized per channel)' : ''),
        'batch sizes': `${s.batchSizes.join(', ')}, one run each per data set`,
        training: `Adam (PyTorch's defaults), learning rate ${TRAINING.lr}, cross-entropy, ${s.epochs} epochs for every batch size, so larger batches take fewer steps (epochs × ⌈training examples / batch⌉, in each table); the same seed (${seed}) for the initial weights and the batch order of every run`,
        'loss and accuracy': 'train: the final weights on the whole training set of the run; test: the final weights on the whole test set; generalization gap = test loss − train loss',
        'sensitivity (slides)': "the mean over examples of ||∂ℓ_n/∂x_n||_F, ℓ_n example n's own cross-entropy (input_grad.onnx's grad.x row times the chunk size, since its loss is the chunk's mean), x the network's input as fed",
        'sensitivity (Novak et al. 2018)': "the mean over examples of ||∂p(x_n)/∂x_n||_F, the Frobenius norm of example n's Jacobian of the 10 class probabilities (softmax) with respect to its input (jacobian.onnx)",
        evaluation: `float32 graphs, ${s.examplesPerCall} examples per onnxruntime call (the per-example norms do not depend on it)`,
        trends: 'Spearman rank correlations across the batch sizes: each sensitivity against the generalization gap, and against the batch size; a sensitivity "grows with the batch size" (the slides\' claim) when ρ ≥ 0.8, tends to when 0.4 ≤ ρ < 0.8',
      };
      if (s.datasets.cifar10 && !datasets.includes('cifar10')) {
        settings['CIFAR-10'] = 'not found when planned (HW1_DATA_DIR, data/cifar-10-batches-bin, ../shared/data/cifar-10-batches-bin; `run --data-dir` is not seen at planning time), so its runs are not planned: `npx hw1-onnx data fetch cifar10`, or set HW1_DATA_DIR';
      }
      return { runs, settings };
    },

    async analyze(results, context) {
      const s = scales[results.profile];
      const runtime = { ep: context.ep, threads: context.threads };
      const out: SensitivityAnalysis = { datasets: [] };
      for (const dataset of Object.keys(DATASETS) as DatasetName[]) {
        const runs = byBatchSize(results.runs.filter((run) => run.group === dataset));
        if (runs.length === 0) continue;
        const started = performance.now();
        const scale = s.datasets[dataset]!;
        const model = resolveModel(sensitivityModel(dataset));
        // The very folder the runs trained on (CIFAR-10 may have come from --data-dir).
        const data = dataForModel(model, { limitTrain: scale.sensitivityTrain, limitTest: scale.sensitivityTest, dataDir: dataset === 'cifar10' ? runs[0]!.data.source : undefined });
        context.log(`1-3-sensitivity: ${DATASETS[dataset].name}, ${runs.length} runs, sensitivities on ${count(data.train.count)} training and ${count(data.test.count)} test images`);
        const evaluator = await sensitivityEvaluator(model, { ...runtime, examplesPerCall: s.examplesPerCall });
        const rows: BatchRow[] = [];
        try {
          for (const run of runs) {
            const weights = runWeights(context.outDir, run, model);
            const train = measured(await evaluator.measure(weights, data.train));
            const test = measured(await evaluator.measure(weights, data.test));
            const trainLoss = run.final.evaluatedTrainLoss ?? run.final.trainLoss;
            rows.push({
              key: run.key,
              batchSize: run.training.resolvedBatchSize,
              steps: run.epochs.length * Math.ceil(run.data.train / run.training.resolvedBatchSize),
              status: run.status,
              train: { loss: trainLoss, accuracy: run.final.evaluatedTrainAccuracy ?? run.final.trainAccuracy!, evaluated: run.final.evaluatedTrainLoss !== undefined },
              test: { loss: run.final.testLoss, accuracy: run.final.testAccuracy! },
              gap: run.final.testLoss - trainLoss,
              sensitivity: { train, test },
            });
          }
        } finally {
          await evaluator.release();
        }
        out.datasets.push({
          dataset,
          examples: { train: data.train.count, test: data.test.count },
          data: { train: runs[0]!.data.train, test: runs[0]!.data.test },
          perCall: s.examplesPerCall,
          seconds: (performance.now() - started) / 1000,
          rows,
        });
      }
      return out;
    },

    async charts(results, outDir) {
      const a = results.analysis as SensitivityAnalysis | undefined;
      if (!a) return [];
      const charts: ChartFile[] = [];
      for (const d of a.datasets) {
        const name = DATASETS[d.dataset].name;
        const point = (row: BatchRow, y: number) => ({ x: row.batchSize, y });
        const sensitivities: Series[] = (['lossGradient', 'jacobian'] as const).flatMap((definition) =>
          (['train', 'test'] as const).map((set) => ({
            label: `${definition === 'lossGradient' ? '||∂ℓ/∂x||' : '||∂p/∂x||'} on ${set}`,
            colorKey: definition,
            dashed: set === 'test',
            axis: 'right' as const,
            points: d.rows.map((row) => point(row, row.sensitivity[set][definition])).filter((p) => p.y > 0 && Number.isFinite(p.y)),
          })),
        );
        const common = {
          xLabel: 'batch size (log scale)',
          logX: true,
          y2Label: 'sensitivity, mean per-example Frobenius norm (log scale)',
          logY2: true,
          colorOrder: ['metric', 'lossGradient', 'jacobian'],
        };
        const lossPath = join(results.experiment, `${d.dataset}-loss-sensitivity.png`);
        await writeChart(join(outDir, lossPath), {
          ...common,
          title: `${name}: loss and sensitivity against the batch size`,
          yLabel: 'cross-entropy (log scale)',
          logY: true,
          series: [
            { label: 'train loss', colorKey: 'metric', points: d.rows.map((row) => point(row, row.train.loss)).filter((p) => p.y > 0 && Number.isFinite(p.y)) },
            { label: 'test loss', colorKey: 'metric', dashed: true, points: d.rows.map((row) => point(row, row.test.loss)).filter((p) => p.y > 0 && Number.isFinite(p.y)) },
            ...sensitivities,
          ],
        });
        const accuracyPath = join(results.experiment, `${d.dataset}-accuracy-sensitivity.png`);
        await writeChart(join(outDir, accuracyPath), {
          ...common,
          title: `${name}: accuracy and sensitivity against the batch size`,
          yLabel: 'accuracy (%)',
          series: [
            { label: 'train accuracy', colorKey: 'metric', points: d.rows.map((row) => point(row, 100 * row.train.accuracy)) },
            { label: 'test accuracy', colorKey: 'metric', dashed: true, points: d.rows.map((row) => point(row, 100 * row.test.accuracy)) },
            ...sensitivities,
          ],
        });
        const how = `solid: training set, dashed: test set; right axis: ||∂ℓ/∂x|| (the slides' sensitivity) and ||∂p/∂x|| (Novak et al.'s), each the mean per-example Frobenius norm on the first ${count(d.examples.train)} training and ${count(d.examples.test)} test images`;
        charts.push(
          { path: lossPath, caption: `${name}: train and test loss (left axis) and both sensitivities (right axis) of each batch size after training; ${how}.` },
          { path: accuracyPath, caption: `${name}: train and test accuracy (left axis) and both sensitivities (right axis); ${how}.` },
        );
      }
      return charts;
    },

    report(results, charts) {
      const lines = [...settingsSection(results.settings)];
      const a = results.analysis as SensitivityAnalysis | undefined;
      if (!a) return [...lines, 'The sensitivities are measured once every planned run has finished.'].join('\n');
      for (const d of a.datasets) {
        lines.push(`#### ${DATASETS[d.dataset].name}`, '');
        lines.push(
          markdownTable(
            ['batch', 'steps', 'train loss', 'test loss', 'train accuracy', 'test accuracy', 'gap (test − train loss)', '‖∂ℓ/∂x‖ train', '‖∂ℓ/∂x‖ test', '‖∂p/∂x‖ train', '‖∂p/∂x‖ test'],
            d.rows.map((row) => [
              `${count(row.batchSize)}${row.status === 'diverged' ? ' (diverged)' : ''}`,
              count(row.steps),
              formatNumber(row.train.loss),
              formatNumber(row.test.loss),
              formatPercent(row.train.accuracy),
              formatPercent(row.test.accuracy),
              formatNumber(row.gap),
              formatNumber(row.sensitivity.train.lossGradient),
              formatNumber(row.sensitivity.test.lossGradient),
              formatNumber(row.sensitivity.train.jacobian),
              formatNumber(row.sensitivity.test.jacobian),
            ]),
          ),
          '',
        );
        if (d.rows.some((row) => !row.train.evaluated)) lines.push('(Train loss and accuracy of runs without a final evaluation on the training set are the last epoch\'s running means.)', '');
        for (const chart of charts.filter((c) => c.path.includes(`/${d.dataset}-`))) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
        lines.push(...observations(d), '');
      }
      return lines.join('\n');
    },
  };
  return experiment;
}

const byBatchSize = (runs: RunResult[]) => [...runs].sort((a, b) => a.training.resolvedBatchSize - b.training.resolvedBatchSize);

function measured(s: InputSensitivity): Measured {
  return { lossGradient: s.lossGradient, jacobian: s.jacobian, loss: s.loss, accuracy: s.accuracy };
}

const rho = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

/** What a rank correlation with the batch size says about the slides' claim that sensitivity grows with it. */
function growthVerdict(value: number): string {
  if (!Number.isFinite(value)) return 'cannot be judged (fewer than two distinct values)';
  if (value >= 0.8) return 'grows with the batch size: the slides\' claim reproduces';
  if (value >= 0.4) return 'tends to grow with the batch size, but not consistently: the slides\' claim reproduces only weakly';
  if (value > -0.4) return 'shows no trend with the batch size: the slides\' claim does not reproduce here';
  return 'falls as the batch size grows: the opposite of the slides\' claim, which does not reproduce here';
}

/** The correlations and trends the report states, computed from the table. */
function observations(d: DatasetSensitivity): string[] {
  const rows = d.rows;
  if (rows.length < 3) return [`- Only ${rows.length} batch size(s) finished: too few for rank correlations.`];
  const batches = rows.map((row) => row.batchSize);
  const gaps = rows.map((row) => row.gap);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const lines = [
    `- Steps: batch ${count(first.batchSize)} took ${count(first.steps)} optimizer steps, batch ${count(last.batchSize)} ${count(last.steps)} (${(first.steps / last.steps).toFixed(0)} times fewer) in the same epochs.`,
    `- Test accuracy goes from ${formatPercent(first.test.accuracy)} at batch ${count(first.batchSize)} to ${formatPercent(last.test.accuracy)} at batch ${count(last.batchSize)}; the generalization gap (test − train loss) from ${formatNumber(first.gap)} to ${formatNumber(last.gap)} (Spearman ρ with the batch size ${rho(spearman(batches, gaps))}: ${spearman(batches, gaps) >= 0.4 ? 'larger batches generalize worse here' : spearman(batches, gaps) <= -0.4 ? 'larger batches have the smaller gap here' : 'no clear trend'}).`,
  ];
  if (last.train.loss > 2 * first.train.loss) {
    lines.push(
      `- The largest batch ends at ${(last.train.loss / first.train.loss).toFixed(1)} times the smallest batch's training loss (${formatNumber(last.train.loss)} against ${formatNumber(first.train.loss)}): with the same epochs it is not trained as far, so its sensitivity and gap here also measure less training, not only another kind of minimum; comparing at equal training loss would need more epochs for the large batches.`,
    );
  }
  for (const [definition, label] of [
    ['lossGradient', "The slides' sensitivity ‖∂ℓ/∂x‖"],
    ['jacobian', "Novak et al.'s sensitivity ‖∂p/∂x‖"],
  ] as const) {
    for (const set of ['test', 'train'] as const) {
      const values = rows.map((row) => row.sensitivity[set][definition]);
      const withBatch = spearman(batches, values);
      const withGap = spearman(values, gaps);
      const relation = !Number.isFinite(withGap)
        ? 'cannot be related to the gap'
        : withGap >= 0.4
          ? 'goes with a larger gap'
          : withGap <= -0.4
            ? 'goes with a smaller gap, against the slides'
            : 'is not related to the gap';
      lines.push(
        `- ${label} on the ${set} images ${growthVerdict(withBatch)} (ρ = ${rho(withBatch)}; ${formatNumber(values[0])} at batch ${count(first.batchSize)}, ${formatNumber(values.at(-1))} at batch ${count(last.batchSize)}, ${increases(values)} of ${values.length - 1} steps up); against the generalization gap ρ = ${rho(withGap)}: higher sensitivity ${relation}.`,
      );
    }
  }
  lines.push(`- Measuring both sensitivities on ${count(d.examples.train)} + ${count(d.examples.test)} images for ${rows.length} runs took ${d.seconds.toFixed(1)} s.`);
  return lines;
}

function increases(values: readonly number[]): number {
  let up = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[i - 1]!) up++;
  return up;
}

export const sensitivityExperiment = sensitivityStudy();
