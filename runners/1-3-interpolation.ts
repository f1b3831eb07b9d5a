/**
 * HW1 1-3, "flatness vs generalization, part 1: interpolation": two pairs of
 * the same MNIST network trained differently (batch size 64 vs 1024; learning
 * rate 1e-3 vs 1e-2), and the training and test loss and accuracy on the
 * straight line θ(α) = (1 − α) θ₁ + α θ₂ through each pair, α from −1 to 2
 * (Keskar et al. 2017, "On Large-Batch Training for Deep Learning", fig. 3).
 */
import { join } from 'node:path';
import { flattenWeights } from '../src/analysis/flatWeights.ts';
import { alphaGrid, interpolationEvaluator, lossPeak, valueAt, type LossPeak } from '../src/analysis/interpolation.ts';
import { writeChart } from '../src/charts/lineChart.ts';
import { dataForModel } from '../src/data/forModel.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunResult, RunSpec } from '../src/experiments/types.ts';
import { runWeights } from '../src/experiments/weights.ts';
import { dense, flatten, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential } from '../src/nn/model.ts';

/** How much of the study a profile does. */
export interface InterpolationScale {
  /** Training and test images: the first this many; all when undefined. */
  limitTrain?: number;
  limitTest?: number;
  epochs: number;
  /** Evenly spaced α on [−1, 2] (the flatness probes −0.25 and 1.25 are added where the grid lacks them). */
  alphas: number;
  /** Examples per onnxruntime call of the interpolation. */
  chunk: number;
}

const PROFILES: Record<Profile, InterpolationScale> = {
  quick: { limitTrain: 5000, limitTest: 1000, epochs: 5, alphas: 31, chunk: 10_000 },
  full: { epochs: 10, alphas: 61, chunk: 10_000 },
};

const ALPHA_RANGE = [-1, 2] as const;
/**
 * Flatness probes: the loss 0.25 of the way beyond each model along the
 * line. Both lie 0.25 ‖θ₂ − θ₁‖ from their model, so the rises compare.
 */
const PROBE = 0.25;
/** α per onnxruntime call: a whole full-profile grid (63 α) in one. */
const POINTS_PER_CALL = 64;

/** The slides' MNIST DNN (as models/mnist-dnn.ts). */
export const interpolationModel = sequential(
  'interpolation-dnn',
  { description: 'MNIST classifier, fully connected 784-256-256-10 with ReLU (the slides\' DNN)', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [flatten(), dense(256), relu(), dense(256), relu(), dense(10)],
);

interface RunSetting {
  key: string;
  batchSize: number;
  lr: number;
}

interface PairSetting {
  key: string;
  /** What differs between θ₁ and θ₂. */
  varied: string;
  runs: readonly [RunSetting, RunSetting];
  /** Which end the literature expects to be flatter, and who says so. */
  expectedFlatter: 0 | 1;
  expectation: string;
}

const PAIRS: readonly PairSetting[] = [
  {
    key: 'batch',
    varied: 'batch size',
    runs: [
      { key: 'batch-64', batchSize: 64, lr: 1e-3 },
      { key: 'batch-1024', batchSize: 1024, lr: 1e-3 },
    ],
    expectedFlatter: 0,
    expectation: 'Keskar et al. (2017) find the small-batch minimum flatter and the large-batch one sharper',
  },
  {
    key: 'lr',
    varied: 'learning rate',
    runs: [
      { key: 'lr-1e-3', batchSize: 64, lr: 1e-3 },
      { key: 'lr-1e-2', batchSize: 64, lr: 1e-2 },
    ],
    expectedFlatter: 1,
    expectation: 'for SGD a larger learning rate at a fixed batch size is expected to end in a flatter minimum (Jastrzębski et al. 2017)',
  },
];

const runLabel = (r: RunSetting) => `batch ${r.batchSize}, lr ${r.lr.toExponential()}`;

interface SetCurve {
  loss: number[];
  accuracy: number[];
}

interface PairAnalysis {
  key: string;
  varied: string;
  runs: [string, string];
  labels: [string, string];
  /** ‖θ₂ − θ₁‖, over all parameters. */
  distance: number;
  train: SetCurve;
  test: SetCurve;
  /** onnxruntime calls for both data sets, and their seconds. */
  calls: number;
  seconds: number;
}

interface InterpolationAnalysis {
  alpha: number[];
  data: { train: number; test: number };
  chunk: number;
  pairs: PairAnalysis[];
}

/** The experiment at the given scales (tests run it smaller than the quick profile). */
export function interpolationStudy(scales: Record<Profile, InterpolationScale> = PROFILES): Experiment {
  const alphasOf = (p: InterpolationScale) => alphaGrid(ALPHA_RANGE[0], ALPHA_RANGE[1], p.alphas, [0, 1, -PROBE, 1 + PROBE]);
  return {
    id: '1-3-interpolation',
    section: '1-3',
    title: 'Flatness vs generalization, part 1: interpolation between two models',

    plan(profile, seed) {
      const p = scales[profile];
      const runs: RunSpec[] = PAIRS.flatMap((pair) =>
        pair.runs.map((r) => ({
          key: r.key,
          label: runLabel(r),
          group: pair.key,
          model: interpolationModel,
          data: { limitTrain: p.limitTrain, limitTest: p.limitTest },
          training: { epochs: p.epochs, batchSize: r.batchSize, optimizer: 'adam', lr: r.lr, evalEvery: 1 },
          seed,
        })),
      );
      const alphas = alphasOf(p);
      const images = (limit: number | undefined, all: string) => (limit === undefined ? all : `the first ${limit.toLocaleString('en-US')}`);
      return {
        runs,
        settings: {
          model: `MNIST DNN 784-256-256-10, ReLU, ${resolveModel(interpolationModel).parameterCount.toLocaleString('en-US')} parameters`,
          data: `${images(p.limitTrain, 'all 60,000')} training images and ${images(p.limitTest, 'all 10,000')} test images, for training and for the interpolation`,
          training: `Adam, ${p.epochs} epochs (the test set evaluated after each), all four runs from seed ${seed} (the same initial weights; the batch order drawn from the same seed)`,
          ...Object.fromEntries(PAIRS.map((pair, i) => [`pair ${'AB'[i]} (${pair.varied})`, `θ₁ ${runLabel(pair.runs[0])} (run ${pair.runs[0].key}), θ₂ ${runLabel(pair.runs[1])} (run ${pair.runs[1].key})`])),
          'same settings': 'batch-64 and lr-1e-3 are the same training, kept as two runs so each pair is self-contained',
          interpolation: `θ(α) = (1 − α) θ₁ + α θ₂ at ${alphas.length} α from ${ALPHA_RANGE[0]} to ${ALPHA_RANGE[1]} (${p.alphas} evenly spaced${alphas.length > p.alphas ? `, and ${-PROBE} and ${1 + PROBE}` : ''}); mean cross-entropy and accuracy on the whole training and test sets above`,
          evaluation: `surface.onnx with centre 0 and directions θ₁, θ₂ at (1 − α, α), so α = 0 and 1 are the two models exactly; one session per pair, up to ${POINTS_PER_CALL} α per onnxruntime call, ${p.chunk.toLocaleString('en-US')} examples per call`,
          flatness: `the change of the training loss ${PROBE} beyond each model along the line, L(${-PROBE}) − L(0) for θ₁ and L(${1 + PROBE}) − L(1) for θ₂ (the same distance in weight space); the smaller change in size is the flatter end`,
        },
      };
    },

    async analyze(results, context) {
      const p = scales[results.profile];
      const model = resolveModel(interpolationModel);
      const data = dataForModel(model, { limitTrain: p.limitTrain, limitTest: p.limitTest });
      const alpha = alphasOf(p);
      const pairs: PairAnalysis[] = [];
      for (const pair of PAIRS) {
        const [run1, run2] = pair.runs.map((r) => findRun(results.runs, r.key));
        const [theta1, theta2] = [runWeights(context.outDir, run1, model), runWeights(context.outDir, run2, model)];
        const started = performance.now();
        context.log(`1-3-interpolation: ${pair.varied}, ${alpha.length} α on ${data.train.count} training and ${data.test.count} test images`);
        const evaluator = await interpolationEvaluator(model, theta1, theta2, { ep: context.ep, threads: context.threads, chunkSize: p.chunk, pointsPerCall: POINTS_PER_CALL });
        try {
          const train = await evaluator.evaluate(alpha, data.train);
          const test = await evaluator.evaluate(alpha, data.test);
          const [flat1, flat2] = [flattenWeights(model, theta1), flattenWeights(model, theta2)];
          pairs.push({
            key: pair.key,
            varied: pair.varied,
            runs: [run1.key, run2.key],
            labels: [run1.label, run2.label],
            distance: Math.sqrt(flat1.reduce((s, v, i) => s + (flat2[i]! - v) ** 2, 0)),
            train: { loss: train.loss, accuracy: train.accuracy! },
            test: { loss: test.loss, accuracy: test.accuracy! },
            calls: evaluator.calls,
            seconds: (performance.now() - started) / 1000,
          });
        } finally {
          await evaluator.release();
        }
      }
      return { alpha, data: { train: data.train.count, test: data.test.count }, chunk: p.chunk, pairs } satisfies InterpolationAnalysis;
    },

    async charts(results, outDir) {
      const a = results.analysis as InterpolationAnalysis | undefined;
      if (!a) return [];
      const charts: ChartFile[] = [];
      for (const pair of a.pairs) {
        const path = join(results.experiment, `${pair.key}.png`);
        // A log axis cannot show a loss of 0 (all margins beyond float32's reach): such points are left out.
        const positive = (values: number[]) => a.alpha.map((x, i) => ({ x, y: values[i]! })).filter((q) => Number.isFinite(q.y) && q.y > 0);
        const points = (values: number[]) => a.alpha.map((x, i) => ({ x, y: values[i]! }));
        await writeChart(join(outDir, path), {
          title: `${pair.varied}: θ₁ = ${pair.labels[0]} (α = 0), θ₂ = ${pair.labels[1]} (α = 1)`,
          xLabel: 'α, θ = (1 − α) θ₁ + α θ₂',
          yLabel: 'cross-entropy (log scale)',
          logY: true,
          y2Label: 'accuracy (dashed)',
          colorOrder: ['train', 'test'],
          series: [
            { label: 'training loss', colorKey: 'train', points: positive(pair.train.loss) },
            { label: 'test loss', colorKey: 'test', points: positive(pair.test.loss) },
            { label: 'training accuracy', colorKey: 'train', dashed: true, axis: 'right', points: points(pair.train.accuracy) },
            { label: 'test accuracy', colorKey: 'test', dashed: true, axis: 'right', points: points(pair.test.accuracy) },
          ],
        });
        charts.push({
          path,
          caption: `The mean cross-entropy (solid, left axis, log scale) and accuracy (dashed, right axis) on ${a.data.train.toLocaleString('en-US')} training and ${a.data.test.toLocaleString('en-US')} test images along the line through the two models; ‖θ₂ − θ₁‖ = ${formatNumber(pair.distance)}.`,
        });
      }
      return charts;
    },

    report(results, charts) {
      const a = results.analysis as InterpolationAnalysis | undefined;
      const lines = [...settingsSection(results.settings)];
      if (!a) return [...lines, 'The interpolation is computed once all four runs have finished.'].join('\n');
      for (const run of results.runs.filter((r) => r.status !== 'completed')) lines.push(`- ${run.key} ${run.status}: ${run.message ?? ''} Its kept weights are interpolated.`, '');
      for (const [index, pair] of a.pairs.entries()) {
        const setting = PAIRS.find((s) => s.key === pair.key)!;
        const m = measurePair(a.alpha, pair);
        lines.push(
          `**Pair ${'AB'[index]}, ${pair.varied}: θ₁ = ${pair.labels[0]}, θ₂ = ${pair.labels[1]}** (‖θ₂ − θ₁‖ = ${formatNumber(pair.distance)}; ${pair.calls} onnxruntime calls, ${pair.seconds.toFixed(1)} s)`,
          '',
          markdownTable(
            ['set', 'loss at θ₁', 'accuracy at θ₁', 'loss at θ₂', 'accuracy at θ₂', 'peak α in (0, 1)', 'loss there', 'ratio to the larger end', `change at α = ${-PROBE} (from α = 0)`, `change at α = ${1 + PROBE} (from α = 1)`],
            (['train', 'test'] as const).map((set) => {
              const s = m[set];
              return [
                set === 'train' ? 'training' : 'test',
                formatNumber(s.loss[0]),
                formatPercent(s.accuracy[0]),
                formatNumber(s.loss[1]),
                formatPercent(s.accuracy[1]),
                s.peak ? s.peak.alpha.toFixed(2) : 'n/a',
                formatNumber(s.peak?.loss),
                formatNumber(s.peak?.ratio),
                formatNumber(s.rise[0]),
                formatNumber(s.rise[1]),
              ];
            }),
          ),
          '',
          ...observations(pair, setting, a.alpha, m).map((o) => `- ${o}`),
          '',
        );
        const chart = charts.find((c) => c.path.endsWith(`/${pair.key}.png`));
        if (chart) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      }
      const [batchFirst, lrFirst] = a.pairs.map((pair) => ({ loss: valueAt(a.alpha, pair.test.loss, 0), accuracy: valueAt(a.alpha, pair.test.accuracy, 0) }));
      const same = batchFirst!.loss === lrFirst!.loss && batchFirst!.accuracy === lrFirst!.accuracy;
      lines.push(
        `- Pair A's θ₁ and pair B's θ₁ are separate runs with the same settings and seed: their test losses are ${same ? `identical (${formatNumber(batchFirst!.loss)}), as deterministic training must give` : `${formatNumber(batchFirst!.loss)} and ${formatNumber(lrFirst!.loss)}: training was not reproducible here`}.`,
        '- A loss change along one line measures flatness in one direction only, and rescaling a ReLU network changes it without changing the function (Dinh et al. 2017); the comparison holds for these two models on this line.',
        '',
      );
      return lines.join('\n');
    },
  };
}

export const interpolationExperiment = interpolationStudy();

function findRun(runs: readonly RunResult[], key: string): RunResult {
  const run = runs.find((r) => r.key === key);
  if (!run) throw new Error(`1-3-interpolation: run ${key} is missing from the results (run 1-3-interpolation again)`);
  return run;
}

interface SetMeasures {
  /** At θ₁ (α = 0) and θ₂ (α = 1). */
  loss: [number, number];
  accuracy: [number, number];
  peak: LossPeak | undefined;
  /** L(−PROBE) − L(0) and L(1 + PROBE) − L(1): the change beyond each model. */
  rise: [number, number];
}

/** The numbers the table and the observations state, per data set. */
function measurePair(alpha: readonly number[], pair: PairAnalysis): Record<'train' | 'test', SetMeasures> {
  const of = (curve: SetCurve): SetMeasures => {
    const at = (x: number) => valueAt(alpha, curve.loss, x);
    return {
      loss: [at(0), at(1)],
      accuracy: [valueAt(alpha, curve.accuracy, 0), valueAt(alpha, curve.accuracy, 1)],
      peak: lossPeak(alpha, curve.loss),
      rise: [at(-PROBE) - at(0), at(1 + PROBE) - at(1)],
    };
  };
  return { train: of(pair.train), test: of(pair.test) };
}

function observations(pair: PairAnalysis, setting: PairSetting, alpha: readonly number[], m: Record<'train' | 'test', SetMeasures>): string[] {
  const out: string[] = [];
  const { train, test } = m;
  const name = (end: 0 | 1) => `θ${end === 0 ? '₁' : '₂'} (${pair.labels[end]})`;
  if (train.peak) {
    out.push(
      train.peak.ratio > 1
        ? `Between the two models the training loss rises above both ends: at α = ${train.peak.alpha.toFixed(2)} it is ${formatNumber(train.peak.loss)}, ${formatNumber(train.peak.ratio, 3)} times the larger end point: the straight line between them crosses a barrier${test.peak && test.peak.ratio > 1 ? ` (the test loss too: ${formatNumber(test.peak.ratio, 3)} times at α = ${test.peak.alpha.toFixed(2)})` : ''}.`
        : `Between the two models the training loss stays at or below the larger end point (at most ${formatNumber(train.peak.ratio, 3)} times it, at α = ${train.peak.alpha.toFixed(2)}): no barrier on the straight line, so the picture of two minima separated by a bump does not reproduce here.`,
    );
  }
  // A model is a minimum along the line when both grid neighbours have a higher training loss.
  const lowest = pair.train.loss.indexOf(Math.min(...pair.train.loss));
  const notMinimum = ([0, 1] as const).flatMap((end) => {
    const i = alpha.findIndex((a) => Math.abs(a - end) < 1e-9);
    const lower = [i - 1, i + 1].filter((j) => j >= 0 && j < alpha.length && pair.train.loss[j]! < pair.train.loss[i]!);
    return lower.length ? [{ end, towards: alpha[lower[0]!]! }] : [];
  });
  out.push(
    `Along the line the training loss is lowest at α = ${alpha[lowest]!.toFixed(2)} (${formatNumber(pair.train.loss[lowest])}); ${
      notMinimum.length === 0
        ? 'both models are minima along it'
        : notMinimum.map((q) => `${name(q.end)} is not a minimum along it (the loss falls from it towards α = ${q.towards.toFixed(2)})`).join(', and ')
    }.`,
  );
  const change = train.rise.map(Math.abs) as [number, number];
  const flatter = change[0] < change[1] ? 0 : 1;
  const slope = notMinimum.length ? ` (a change at a model that is not a minimum along the line is partly its slope, not curvature)` : '';
  out.push(
    `${PROBE} beyond each model the training loss changes by ${formatNumber(train.rise[0])} at θ₁'s side (α = ${-PROBE}) and ${formatNumber(train.rise[1])} at θ₂'s side (α = ${1 + PROBE}): ${name(flatter)} is the flatter end${Math.min(...change) > 0 ? `, ${formatNumber(Math.max(...change) / Math.min(...change), 3)} times less change` : ''}${slope}. ${
      flatter === setting.expectedFlatter
        ? `That is the expected picture: ${setting.expectation}.`
        : `The classic picture does not reproduce here: ${setting.expectation}, but here ${name(setting.expectedFlatter)} is the sharper end.`
    }`,
  );
  const better = test.loss[0] < test.loss[1] ? 0 : 1;
  const accuracyBetter = test.accuracy[0] === test.accuracy[1] ? undefined : test.accuracy[0] > test.accuracy[1] ? 0 : 1;
  out.push(
    `The test loss is lower at ${name(better)} (${formatNumber(test.loss[better])} vs ${formatNumber(test.loss[1 - better])})${accuracyBetter === undefined ? ', the test accuracy equal' : `, the test accuracy higher at θ${accuracyBetter === 0 ? '₁' : '₂'} (${formatPercent(test.accuracy[accuracyBetter])} vs ${formatPercent(test.accuracy[1 - accuracyBetter])})`}: ${better === flatter ? 'the flatter end generalizes better by the test loss, as the flatness argument says' : 'the sharper end has the lower test loss: flatness along this line does not predict generalization here'}.`,
  );
  return out;
}
