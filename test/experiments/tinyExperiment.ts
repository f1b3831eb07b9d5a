/** A tiny experiment for the framework's tests: two 1-D regressions, a few epochs each. */
import { join } from 'node:path';
import { writeChart } from '../../src/charts/lineChart.ts';
import type { Experiment } from '../../src/experiments/experiment.ts';
import { formatNumber } from '../../src/experiments/summaries.ts';
import { dense, relu } from '../../src/nn/layers.ts';
import { sequential } from '../../src/nn/model.ts';

export function tinyExperiment(options: { failOn?: string; missingDataOn?: string } = {}): Experiment {
  return {
    id: 'tiny',
    section: '0-0',
    title: 'A tiny test experiment',
    plan(profile, seed) {
      const widths = profile === 'quick' ? [4, 8, 16] : [32];
      return {
        settings: { training: `adam, ${widths.length} widths` },
        runs: widths.map((width) => ({
          key: `width-${width}`,
          label: `1-${width}-1`,
          group: 'sinc',
          // A model whose declaration fails stands for a crash in the middle of a suite.
          model: sequential(`tiny-${width}`, { description: 'test', task: 'regression', inputShape: [1], dataset: options.missingDataOn === `width-${width}` ? 'mnist' : 'function:sinc' }, [
            dense(options.failOn === `width-${width}` ? 0 : width),
            relu(),
            dense(1),
          ]),
          data: { limitTrain: 64, limitTest: 32, ...(options.missingDataOn === `width-${width}` ? { dataDir: '/nonexistent-data' } : {}) },
          training: { epochs: 4, batchSize: 16, optimizer: 'adam', lr: 1e-2, evalEvery: 2 },
          seed,
          predictionPoints: 10,
        })),
      };
    },
    async charts(results, outDir) {
      const path = join(results.experiment, 'loss.png');
      await writeChart(join(outDir, path), {
        title: 'tiny: training loss',
        xLabel: 'epoch',
        yLabel: 'MSE',
        series: results.runs.map((run) => ({ label: run.label, points: run.epochs.map((e) => ({ x: e.epoch, y: e.trainLoss })) })),
      });
      return [{ path, caption: 'training loss' }];
    },
    report(results, charts) {
      return [
        ...charts.map((chart) => `![chart](${chart.path})`),
        ...results.runs.map((run) => `- ${run.label}: final training loss ${formatNumber(run.final.trainLoss)}`),
      ].join('\n');
    },
  };
}

export const experiments = [tinyExperiment()];
