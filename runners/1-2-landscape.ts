/**
 * HW1 1-2 bonus, "visualize the error surface": the loss around a trained
 * MNIST DNN along two random filter-normalized directions (Li et al. 2018),
 * along one of them, in the PCA plane of the 1-2-trajectory runs with their
 * paths drawn on it, and on the line from a run's initial to its final weights.
 */
import { join } from 'node:path';
import mnistDnn from '../models/mnist-dnn.ts';
import { splitByParameters } from '../src/analysis/flatWeights.ts';
import { difference, filterNormalizedDirection, gridPoints, linspace, surfaceEvaluator, type SurfaceData, type Weights } from '../src/analysis/landscape.ts';
import { trajectoryPlane } from '../src/analysis/trajectories.ts';
import { writeHeatmap } from '../src/charts/heatmap.ts';
import { writeChart } from '../src/charts/lineChart.ts';
import { dataForModel } from '../src/data/forModel.ts';
import { inputSize, type Dataset } from '../src/data/dataset.ts';
import type { ExecutionProviderName } from '../src/runtime/providers.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile } from '../src/experiments/types.ts';
import { runSnapshots, runWeights } from '../src/experiments/weights.ts';
import { resolveModel } from '../src/nn/model.ts';
import { Random } from '../src/util/random.ts';
import { trajectoryExperiment } from './1-2-trajectory.ts';

const PROFILES: Record<Profile, { grid: number; line: number; limitTrain: number; limitTest: number }> = {
  quick: { grid: 11, line: 21, limitTrain: 1000, limitTest: 1000 },
  full: { grid: 51, line: 101, limitTrain: 10000, limitTest: 10000 },
};

interface Surface {
  x: number[];
  y: number[];
  /** z[i][j] at (x[j], y[i]). */
  train: number[][];
  test?: number[][];
  seconds: number;
}

interface Line {
  alpha: number[];
  train: number[];
  test: number[];
}

interface LandscapeAnalysis {
  center: string;
  data: { train: number; test: number };
  random: Surface;
  randomLine: Line;
  pcaPlane: Surface & { explainedVarianceRatio: [number, number]; paths: Array<{ label: string; points: Array<{ x: number; y: number; epoch: number }> }> };
  interpolation: Line & { run: string };
  seeds: { direction1: number; direction2: number };
}

export const landscapeExperiment: Experiment = {
  id: '1-2-landscape',
  section: '1-2',
  title: 'Optimization (bonus): the error surface',
  requires: [trajectoryExperiment.id],

  plan(profile, seed) {
    const p = PROFILES[profile];
    return {
      runs: [],
      settings: {
        model: 'the 1-2-trajectory runs (MNIST DNN 784-256-256-10); the surfaces are centred on run 1\'s final weights',
        directions: `random normal, filter-normalized as Li et al. (2018): each row of a dense weight scaled to the norm of the same row of the weights; bias directions zero (their --xignore biasbn); seeds ${seed * 1000 + 1} and ${seed * 1000 + 2}`,
        grids: `${p.grid} x ${p.grid} points on [-1, 1]² around the trained weights, ${p.line} points on [-1, 1] along the first direction; the PCA plane of all snapshots on the range of the trajectories plus 15%; the line from run 1's initial weights (α = 0) to its final ones (α = 1) on [-0.5, 1.5], ${p.line} points`,
        data: `the loss on the first ${p.limitTrain.toLocaleString('en-US')} training images and the first ${p.limitTest.toLocaleString('en-US')} test images (the PCA plane: training images only)`,
        evaluation: 'surface.onnx: the weights at each point computed inside an ONNX Loop from the centre and the two directions, 64 points per onnxruntime call',
      },
    };
  },

  async analyze(results, context) {
    const p = PROFILES[results.profile];
    const model = resolveModel(mnistDnn);
    const trajectory = context.required[trajectoryExperiment.id]!;
    const first = trajectory.runs[0]!;
    const center = runWeights(context.outDir, first, model);
    const data = dataForModel(model, { limitTrain: p.limitTrain, limitTest: p.limitTest });
    const sets = { train: surfaceData(data.train), test: surfaceData(data.test) };
    const runtime = { ep: context.ep, threads: context.threads };
    const seeds = { direction1: results.seed * 1000 + 1, direction2: results.seed * 1000 + 2 };
    const d1 = filterNormalizedDirection(model, center, new Random(seeds.direction1));
    const d2 = filterNormalizedDirection(model, center, new Random(seeds.direction2));

    const square = linspace(-1, 1, p.grid);
    context.log(`1-2-landscape: random plane, ${p.grid} x ${p.grid} points`);
    const random = await surface(model, center, d1, d2, square, square, sets, runtime, true);
    const alphas = linspace(-1, 1, p.line);
    const randomLine = await line(model, center, d1, alphas, sets, runtime);

    context.log('1-2-landscape: the PCA plane of the trajectories');
    const runs = trajectory.runs.map((run) => ({ label: run.label, snapshots: runSnapshots(context.outDir, run, model) }));
    const plane = trajectoryPlane(model, runs);
    const xs = plane.trajectories.flatMap((t) => t.points.map((q) => q.x));
    const ys = plane.trajectories.flatMap((t) => t.points.map((q) => q.y));
    const span = (values: number[]) => {
      const [lo, hi] = [Math.min(...values), Math.max(...values)];
      const margin = 0.15 * (hi - lo || 1);
      return linspace(lo - margin, hi + margin, p.grid);
    };
    const pcaSurface = await surface(
      model,
      splitByParameters(model, plane.pca.mean),
      splitByParameters(model, plane.pca.components[0]!),
      splitByParameters(model, plane.pca.components[1]!),
      span(xs),
      span(ys),
      sets,
      runtime,
      false,
    );

    context.log('1-2-landscape: initial to final weights');
    const initial = runSnapshots(context.outDir, first, model)[0]!.weights;
    const interpolation = await line(model, initial, difference(model, initial, center), linspace(-0.5, 1.5, p.line), sets, runtime);

    return {
      center: `${trajectoryExperiment.id} ${first.label}, final weights`,
      data: { train: data.train.count, test: data.test.count },
      random,
      randomLine,
      pcaPlane: { ...pcaSurface, explainedVarianceRatio: plane.explainedVarianceRatio, paths: plane.trajectories.map((t) => ({ label: t.label, points: t.points })) },
      interpolation: { ...interpolation, run: first.label },
      seeds,
    } satisfies LandscapeAnalysis;
  },

  async charts(results, outDir) {
    const a = results.analysis as LandscapeAnalysis | undefined;
    if (!a) return [];
    const dir = results.experiment;
    const charts: ChartFile[] = [];
    const heatmap = async (name: string, title: string, s: Surface, extra: { xLabel: string; yLabel: string; paths?: LandscapeAnalysis['pcaPlane']['paths']; mark?: boolean }, caption: string) => {
      const path = join(dir, `${name}.png`);
      await writeHeatmap(join(outDir, path), {
        title,
        xLabel: extra.xLabel,
        yLabel: extra.yLabel,
        zLabel: 'training loss (log scale)',
        x: s.x,
        y: s.y,
        z: s.train,
        logZ: true,
        marks: extra.mark ? [{ x: 0, y: 0, label: 'trained weights' }] : [],
        paths: extra.paths?.map((t) => ({ label: t.label, points: t.points })),
        width: 900,
        height: 720,
      });
      charts.push({ path, caption });
    };
    await heatmap('random-plane', `Training loss around the trained weights (${a.random.x.length} x ${a.random.y.length})`, a.random, { xLabel: 'α (direction 1, filter-normalized)', yLabel: 'β (direction 2, filter-normalized)', mark: true },
      `The training loss at θ* + α d1 + β d2, θ* = ${a.center}, d1 and d2 random filter-normalized directions; contours are evenly spaced in log loss.`);
    await lineChart(outDir, join(dir, 'random-line.png'), charts, `Loss along direction 1 through the trained weights`, 'α (direction 1, filter-normalized)', a.randomLine,
      'The training and test loss at θ* + α d1 along the first random direction.');
    const [r1, r2] = a.pcaPlane.explainedVarianceRatio.map((r) => (100 * r).toFixed(1));
    await heatmap('pca-plane', 'Training loss in the PCA plane of the 8 trajectories', a.pcaPlane, { xLabel: `PC1 (${r1}% of the snapshots' variance)`, yLabel: `PC2 (${r2}%)`, paths: a.pcaPlane.paths },
      'The training loss on the plane through the mean of all trajectory snapshots spanned by their first two principal axes, with each run\'s snapshots projected onto it (a ring marks the end). The runs lie off the plane by the variance the two axes do not explain, so the loss under a path is not the run\'s own loss.');
    await lineChart(outDir, join(dir, 'interpolation.png'), charts, `From ${a.interpolation.run}'s initial (α = 0) to its final weights (α = 1)`, 'α', a.interpolation,
      'The loss at (1 - α) θ₀ + α θ*, the straight line from the initialization to the trained weights and beyond.');
    return charts;
  },

  report(results, charts) {
    const a = results.analysis as LandscapeAnalysis | undefined;
    const lines = [...settingsSection(results.settings)];
    if (!a) return [...lines, 'The surfaces are computed once the 1-2-trajectory runs have finished.'].join('\n');
    for (const chart of charts) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
    const r = measure(a.random);
    const centreIndex = Math.floor(a.randomLine.alpha.length / 2);
    const interpolationMonotone = monotoneDecrease(a.interpolation, 0, 1);
    lines.push(
      `- Around the trained weights (${a.data.train.toLocaleString('en-US')} training images), the training loss is ${formatNumber(r.centre)} at the centre and ${formatNumber(r.edgeMean)} on average on the edge of [-1, 1]² (${r.ratio.toFixed(1)} times the centre); its lowest grid value is ${formatNumber(r.min)} at (α, β) = (${r.argmin.x.toFixed(2)}, ${r.argmin.y.toFixed(2)}).`,
      `- Through the centre, the loss is convex at ${(100 * r.convexAlpha).toFixed(0)}% of the grid points along α and ${(100 * r.convexBeta).toFixed(0)}% along β (second differences ≥ 0): ${r.convexAlpha > 0.9 && r.convexBeta > 0.9 ? 'a bowl' : 'not a simple bowl'}.`,
      `- Along direction 1 the test loss is ${formatNumber(a.randomLine.test[centreIndex])} at the trained weights and ${formatNumber(a.randomLine.test[0])} / ${formatNumber(a.randomLine.test.at(-1))} at α = -1 / 1; the training loss ${formatNumber(a.randomLine.train[centreIndex])}, ${formatNumber(a.randomLine.train[0])} / ${formatNumber(a.randomLine.train.at(-1))}.`,
      `- From initialization to the trained weights the training loss goes from ${formatNumber(valueAt(a.interpolation, 0))} to ${formatNumber(valueAt(a.interpolation, 1))} ${interpolationMonotone ? 'falling monotonically: no barrier on the straight line, as Goodfellow et al. (2015) found' : 'but not monotonically: the straight line crosses a barrier'}; beyond the trained weights it ${a.interpolation.train.at(-1)! > valueAt(a.interpolation, 1) ? 'rises again' : 'keeps falling'}, to ${formatNumber(a.interpolation.train.at(-1))} at α = ${a.interpolation.alpha.at(-1)}, and before the initialization it is ${formatNumber(a.interpolation.train[0])} at α = ${a.interpolation.alpha[0]}.`,
      `- The ${a.random.x.length} x ${a.random.y.length} random grid took ${a.random.seconds.toFixed(1)} s (training and test loss, ${(a.random.x.length * a.random.y.length * 2).toLocaleString('en-US')} evaluations of ${a.data.train.toLocaleString('en-US')} images each).`,
      '',
    );
    return lines.join('\n');
  },
};

type Runtime = { ep: ExecutionProviderName; threads?: number };

function surfaceData(set: Dataset): SurfaceData {
  return { x: set.inputs.subarray(0, set.count * inputSize(set)), target: BigInt64Array.from(set.labels!.subarray(0, set.count), BigInt), count: set.count };
}

async function surface(
  model: ReturnType<typeof resolveModel>,
  center: Weights,
  d1: Weights,
  d2: Weights,
  xs: number[],
  ys: number[],
  sets: { train: SurfaceData; test: SurfaceData },
  runtime: Runtime,
  withTest: boolean,
): Promise<Surface> {
  const started = performance.now();
  const evaluator = await surfaceEvaluator(model, center, d1, d2, runtime);
  const points = gridPoints(xs, ys);
  const rows = (values: number[]) => ys.map((_, i) => values.slice(i * xs.length, (i + 1) * xs.length));
  try {
    const train = rows((await evaluator.evaluate(points, sets.train)).loss);
    const test = withTest ? rows((await evaluator.evaluate(points, sets.test)).loss) : undefined;
    return { x: xs, y: ys, train, ...(test ? { test } : {}), seconds: (performance.now() - started) / 1000 };
  } finally {
    await evaluator.release();
  }
}

async function line(model: ReturnType<typeof resolveModel>, center: Weights, direction: Weights, alphas: number[], sets: { train: SurfaceData; test: SurfaceData }, runtime: Runtime): Promise<Line> {
  const evaluator = await surfaceEvaluator(model, center, direction, undefined, runtime);
  try {
    const points = alphas.map((alpha) => ({ alpha, beta: 0 }));
    return { alpha: alphas, train: (await evaluator.evaluate(points, sets.train)).loss, test: (await evaluator.evaluate(points, sets.test)).loss };
  } finally {
    await evaluator.release();
  }
}

async function lineChart(outDir: string, path: string, charts: ChartFile[], title: string, xLabel: string, l: Line, caption: string): Promise<void> {
  await writeChart(join(outDir, path), {
    title,
    xLabel,
    yLabel: 'loss (cross-entropy, log scale)',
    logY: true,
    colorOrder: ['train', 'test'],
    series: [
      { label: 'training loss', colorKey: 'train', points: l.alpha.map((x, i) => ({ x, y: l.train[i]! })) },
      { label: 'test loss', colorKey: 'test', points: l.alpha.map((x, i) => ({ x, y: l.test[i]! })) },
    ],
  });
  charts.push({ path, caption });
}

/** The numbers the random-plane paragraph states. */
function measure(s: Surface) {
  const n = s.x.length;
  const m = s.y.length;
  const ci = Math.floor(m / 2);
  const cj = Math.floor(n / 2);
  const edge: number[] = [];
  let min = Number.POSITIVE_INFINITY;
  let argmin = { x: 0, y: 0 };
  s.train.forEach((row, i) =>
    row.forEach((v, j) => {
      if (i === 0 || j === 0 || i === m - 1 || j === n - 1) edge.push(v);
      if (v < min) [min, argmin] = [v, { x: s.x[j]!, y: s.y[i]! }];
    }),
  );
  const convexShare = (values: number[]) => {
    let convex = 0;
    for (let k = 1; k < values.length - 1; k++) if (values[k - 1]! - 2 * values[k]! + values[k + 1]! >= 0) convex++;
    return convex / Math.max(1, values.length - 2);
  };
  const centre = s.train[ci]![cj]!;
  const edgeMean = edge.reduce((a, b) => a + b, 0) / edge.length;
  return { centre, edgeMean, ratio: edgeMean / centre, min, argmin, convexAlpha: convexShare(s.train[ci]!), convexBeta: convexShare(s.train.map((row) => row[cj]!)) };
}

function valueAt(l: Line, alpha: number): number {
  let best = 0;
  l.alpha.forEach((a, i) => {
    if (Math.abs(a - alpha) < Math.abs(l.alpha[best]! - alpha)) best = i;
  });
  return l.train[best]!;
}

function monotoneDecrease(l: Line, from: number, to: number): boolean {
  const values = l.alpha.map((a, i) => ({ a, v: l.train[i]! })).filter((p) => p.a >= from - 1e-9 && p.a <= to + 1e-9);
  return values.every((p, i) => i === 0 || p.v <= values[i - 1]!.v);
}
