/**
 * HW1 1-1, "simulate a function": fully connected ReLU networks of different
 * depth with (nearly) the same number of parameters fit sin(5πx)/(5πx) and
 * sgn(sin(5πx)) on (0, 1]; the report compares their training curves and fits.
 */
import { join } from 'node:path';
import { writeChart } from '../src/charts/lineChart.ts';
import { TARGET_FUNCTIONS } from '../src/data/functions.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { firstEpochBelow, formatNumber, markdownTable, settingsSection, thin } from '../src/experiments/summaries.ts';
import type { ExperimentResults, Profile, RunSpec, TrainingSettings } from '../src/experiments/types.ts';
import { dense, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential, type ModelDeclaration } from '../src/nn/model.ts';

const FUNCTIONS = ['sinc', 'sign'] as const;

/** Hidden widths chosen so that all three have 571-573 parameters. */
export const FUNCTION_MODELS = [
  { key: 'shallow', hidden: [190] },
  { key: 'medium', hidden: [22, 22] },
  { key: 'deep', hidden: [10, 18, 15, 4] },
] as const;

const TRAINING: Record<Profile, TrainingSettings> = {
  quick: { epochs: 2000, batchSize: 100, optimizer: 'adam', lr: 3e-3, lrDrops: { epochs: [1500], factor: 0.3 }, evalEvery: 100 },
  // The slides trained for 20,000 epochs; a step decay of the learning rate lets the fits settle.
  full: { epochs: 20000, batchSize: 100, optimizer: 'adam', lr: 1e-3, lrDrops: { epochs: [10000, 15000], factor: 0.3 }, evalEvery: 500 },
};

export function functionModel(fn: string, key: string, hidden: readonly number[]): ModelDeclaration {
  const layers = hidden.flatMap((width) => [dense(width), relu()]);
  return sequential(
    `fit-${fn}-${key}`,
    { description: `1-${hidden.join('-')}-1 ReLU network fitting ${TARGET_FUNCTIONS[fn]!.formula}`, task: 'regression', inputShape: [1], dataset: `function:${fn}` },
    [...layers, dense(1)],
  );
}

function chartOrder(): string[] {
  return ['ground truth', ...FUNCTION_MODELS.map((m) => m.key)];
}

export const functionExperiment: Experiment = {
  id: '1-1-function',
  section: '1-1',
  title: 'Deep vs shallow: simulate a function',

  plan(profile, seed) {
    const training = TRAINING[profile];
    const runs: RunSpec[] = FUNCTIONS.flatMap((fn) =>
      FUNCTION_MODELS.map(({ key, hidden }) => ({
        key: `${fn}-${key}`,
        label: `${key} (1-${hidden.join('-')}-1)`,
        group: fn,
        model: functionModel(fn, key, hidden),
        data: { limitTrain: 1000, limitTest: 2000 },
        training,
        seed,
        predictionPoints: 500,
      })),
    );
    return {
      runs,
      settings: {
        data: '1,000 evenly spaced training points x = i/1000 on (0, 1]; the test set is 2,000 points of the same interval',
        training: `${training.optimizer} (PyTorch defaults otherwise), learning rate ${training.lr}${training.lrDrops ? ` multiplied by ${training.lrDrops.factor} after epochs ${training.lrDrops.epochs.join(' and ')}` : ''}, batch ${training.batchSize}, ${training.epochs} epochs, mean squared error`,
        initialization: `PyTorch's default (uniform in ±1/sqrt(fan_in)), seed ${seed}`,
      },
    };
  },

  async charts(results, outDir) {
    const charts: ChartFile[] = [];
    for (const fn of FUNCTIONS) {
      const runs = results.runs.filter((run) => run.group === fn);
      if (runs.length === 0) continue;
      const formula = TARGET_FUNCTIONS[fn]!.formula;
      const lossPath = join(results.experiment, `${fn}-loss.png`);
      await writeChart(join(outDir, lossPath), {
        title: `Training loss fitting ${formula} (models of ~${runs[0]!.model.parameterCount} parameters)`,
        xLabel: 'epoch',
        yLabel: 'training loss (MSE)',
        logY: true,
        integerX: true,
        colorOrder: chartOrder(),
        series: runs.map((run) => ({
          label: `${run.label}, ${run.model.parameterCount} params`,
          colorKey: run.key.replace(`${fn}-`, ''),
          points: thin(run.epochs.filter((e) => e.trainLoss > 0).map((e) => ({ x: e.epoch, y: e.trainLoss }))),
        })),
      });
      charts.push({ path: lossPath, caption: `Training loss per epoch of every model on ${formula} (log scale).` });

      const withPredictions = runs.filter((run) => run.predictions);
      if (withPredictions.length > 0) {
        const predictionPath = join(results.experiment, `${fn}-predictions.png`);
        const truth = withPredictions[0]!.predictions!;
        await writeChart(join(outDir, predictionPath), {
          title: `${formula}: ground truth and each model's prediction`,
          xLabel: 'x',
          yLabel: 'y',
          colorOrder: chartOrder(),
          series: [
            { label: 'ground truth', colorKey: 'ground truth', dashed: true, points: truth.x.map((x, i) => ({ x, y: truth.target[i]! })) },
            ...withPredictions.map((run) => ({
              label: run.label,
              colorKey: run.key.replace(`${fn}-`, ''),
              points: run.predictions!.x.map((x, i) => ({ x, y: run.predictions!.y[i]! })),
            })),
          ],
        });
        charts.push({ path: predictionPath, caption: `Ground truth and the trained models' predictions on ${formula}.` });
      }
    }
    return charts;
  },

  report(results, charts) {
    const lines: string[] = [];
    const models = FUNCTION_MODELS.map(({ key, hidden }) => resolveModel(functionModel('sinc', key, hidden)));
    const counts = models.map((m) => m.parameterCount);
    const spread = (Math.max(...counts) - Math.min(...counts)) / Math.min(...counts);
    lines.push('Three fully connected ReLU networks of different depth, with almost the same number of parameters (counted from the declarations):', '');
    lines.push(
      markdownTable(
        ['model', 'layers', 'hidden layers', 'parameters'],
        FUNCTION_MODELS.map(({ key, hidden }, i) => [key, `1-${hidden.join('-')}-1`, String(hidden.length), String(counts[i])]),
      ),
    );
    lines.push('', `The parameter counts differ by at most ${(100 * spread).toFixed(2)}%.`, '');
    lines.push(...settingsSection(results.settings));
    for (const fn of FUNCTIONS) {
      const runs = results.runs.filter((run) => run.group === fn);
      if (runs.length === 0) continue;
      const formula = TARGET_FUNCTIONS[fn]!.formula;
      lines.push(`#### ${formula}`, '');
      for (const chart of charts.filter((c) => c.path.includes(`/${fn}-`))) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      const threshold = Math.max(...runs.map((r) => r.final.trainLoss)) * 1.5;
      lines.push(
        markdownTable(
          ['model', 'parameters', 'final training loss', 'test loss (2,000 points)', `first epoch with loss ≤ ${formatNumber(threshold, 3)}`, 'seconds'],
          runs.map((run) => [
            run.label,
            String(run.model.parameterCount),
            formatNumber(run.final.trainLoss),
            formatNumber(run.final.testLoss),
            String(firstEpochBelow(run.epochs, threshold) ?? 'never'),
            run.seconds.toFixed(1),
          ]),
        ),
        '',
      );
      lines.push(...observations(runs), '');
    }
    return lines.join('\n');
  },
};

/** Sentences that only restate what the numbers show. */
function observations(runs: ExperimentResults['runs']): string[] {
  const sorted = [...runs].sort((a, b) => a.final.trainLoss - b.final.trainLoss);
  const best = sorted[0]!;
  const worst = sorted.at(-1)!;
  const out = [
    `- Lowest final training loss: ${best.label} with ${formatNumber(best.final.trainLoss)}; highest: ${worst.label} with ${formatNumber(worst.final.trainLoss)} (${(worst.final.trainLoss / best.final.trainLoss).toFixed(1)} times as high).`,
  ];
  const threshold = Math.max(...runs.map((r) => r.final.trainLoss)) * 1.5;
  const reached = runs
    .map((run) => ({ run, epoch: firstEpochBelow(run.epochs, threshold) }))
    .filter((r): r is { run: (typeof runs)[number]; epoch: number } => r.epoch !== undefined)
    .sort((a, b) => a.epoch - b.epoch);
  if (reached.length > 0) {
    out.push(`- First to reach a training loss of ${formatNumber(threshold, 3)} (1.5 times the highest final loss, a level every model reaches): ${reached[0]!.run.label} at epoch ${reached[0]!.epoch}.`);
  }
  const shallow = runs.find((r) => r.key.endsWith('-shallow'));
  const deep = runs.find((r) => r.key.endsWith('-deep'));
  if (shallow && deep) {
    const lower = deep.final.trainLoss < shallow.final.trainLoss;
    out.push(
      `- The deepest model ${lower ? 'reached a lower' : 'did not reach a lower'} final training loss than the shallow one at equal parameters: ${formatNumber(deep.final.trainLoss)} (deep) vs ${formatNumber(shallow.final.trainLoss)} (shallow).`,
    );
  }
  const diverged = runs.filter((r) => r.status === 'diverged');
  if (diverged.length) out.push(`- Diverged (stopped at a NaN or Inf loss): ${diverged.map((r) => r.label).join(', ')}.`);
  return out;
}
