/** A tiny experiment for the framework's tests: two 1-D regressions, a few epochs each. */
import { join } from 'node:path';
import { writeChart } from '../../src/charts/lineChart.ts';
import type { Experiment } from '../../src/experiments/experiment.ts';
import { runFile } from '../../src/experiments/store.ts';
import { readSafetensors } from '../../src/runtime/checkpoint.ts';
import { formatNumber } from '../../src/experiments/summaries.ts';
import { dense, flatten, relu } from '../../src/nn/layers.ts';
import { sequential } from '../../src/nn/model.ts';
import type { RunSpec } from '../../src/experiments/types.ts';

export function tinyExperiment(
  options: { failOn?: string; missingDataOn?: string; cifarOn?: string; record?: RunSpec['record']; batchSize?: RunSpec['training']['batchSize'] } = {},
): Experiment {
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
          model: options.cifarOn === `width-${width}` ? tinyCifarModel : sequential(`tiny-${width}`, { description: 'test', task: 'regression', inputShape: [1], dataset: options.missingDataOn === `width-${width}` ? 'mnist' : 'function:sinc' }, [
            dense(options.failOn === `width-${width}` ? 0 : width),
            relu(),
            dense(1),
          ]),
          data: { limitTrain: 64, limitTest: 32, ...(options.missingDataOn === `width-${width}` ? { dataDir: '/nonexistent-data' } : {}) },
          training: { epochs: 4, batchSize: options.batchSize ?? 16, optimizer: 'adam', lr: 1e-2, evalEvery: 2 },
          seed,
          predictionPoints: 10,
          ...(options.record ? { record: options.record } : {}),
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

/** A CIFAR-10 classifier that names no data folder: the suite's --data-dir decides where its data comes from. */
const tinyCifarModel = sequential('tiny-cifar', { description: 'test', task: 'classification', inputShape: [3, 32, 32], dataset: 'cifar10' }, [flatten(), dense(10)]);

export const experiments = [tinyExperiment()];

/**
 * An experiment with no runs of its own that analyzes tiny's: it reads every
 * run's final weights file and sums its values; `calls` counts analyses.
 */
export function tinyAnalysis(calls: { count: number }, record?: RunSpec['record']): Experiment {
  return {
    id: 'tiny-analysis',
    section: '0-0',
    title: 'An analysis of the tiny runs',
    requires: ['tiny'],
    plan: () => ({ settings: {}, runs: [] }),
    async analyze(_results, context) {
      calls.count++;
      const tiny = context.required.tiny!;
      return {
        runs: tiny.runs.length,
        sums: tiny.runs.map((run) => [...readSafetensors(runFile(context.outDir, run, run.weights)).tensors.values()].reduce((sum, t) => sum + Array.from(t.data).reduce((a, b) => a + b, 0), 0)),
        record: record ?? null,
      };
    },
    async charts() {
      return [];
    },
    report(results) {
      const analysis = results.analysis as { runs: number; sums: number[] };
      return `analyzed ${analysis.runs} runs, weight sums ${analysis.sums.map((s) => s.toFixed(4)).join(', ')}`;
    },
  };
}
