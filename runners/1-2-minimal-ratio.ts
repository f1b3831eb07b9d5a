/**
 * HW1 1-2, "what happens when the gradient is almost zero": a small ReLU
 * network fitted to sin(5πx)/(5πx) in float64 (phase 1, Adam), then driven to
 * a point with ∇L ≈ 0 by two methods from the same weights (phase 2:
 * descent on ‖∇L‖², and Levenberg–Marquardt on ∇L = 0), and the minimal
 * ratio there by both definitions: the share of positive Hessian eigenvalues
 * and the share of random neighbours with a higher loss.
 */
import { join } from 'node:path';
import { classifyCriticalPoint, gradientJump, modelBatchLoss, sampledMinimalRatio, type PointClass } from '../src/analysis/criticalPoints.ts';
import { gradNormDescent, networkSecondOrder, type FixedBatch } from '../src/analysis/criticalSearch.ts';
import { spearman } from '../src/analysis/curves.ts';
import { hessianEigenvalues, minimalRatio } from '../src/analysis/hessian.ts';
import { flattenWeights, splitByParameters } from '../src/analysis/flatWeights.ts';
import { levenbergMarquardt } from '../src/analysis/levenbergMarquardt.ts';
import { writeChart } from '../src/charts/lineChart.ts';
import { writeScatterChart } from '../src/charts/scatterChart.ts';
import { dataForModel } from '../src/data/forModel.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, markdownTable, settingsSection, thin } from '../src/experiments/summaries.ts';
import type { Profile, RunSpec } from '../src/experiments/types.ts';
import { runWeights } from '../src/experiments/weights.ts';
import { dense, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential } from '../src/nn/model.ts';
import { adam } from '../src/optim/adam.ts';
import { writeModelWeights } from '../src/runtime/checkpoint.ts';
import { Random } from '../src/util/random.ts';
import { Matrix } from 'ml-matrix';

const METHODS = ['gradnorm', 'lm'] as const;
type Method = (typeof METHODS)[number];
const METHOD_LABELS: Record<Method, string> = { gradnorm: 'descent on ||grad L||^2', lm: 'Levenberg-Marquardt' };

const POINTS = 200;
const TOLERANCE = 1e-10;
const RADIUS = 1e-3;

/** How much of the study a profile does. */
export interface MinimalRatioScale {
  runs: number;
  phase1Epochs: number;
  lmSteps: number;
  gradNormSteps: number;
  /** Neighbours sampled for the second definition. */
  samples: number;
}

const PROFILES: Record<Profile, MinimalRatioScale> = {
  quick: { runs: 6, phase1Epochs: 500, lmSteps: 100, gradNormSteps: 2000, samples: 200 },
  full: { runs: 100, phase1Epochs: 2000, lmSteps: 300, gradNormSteps: 10000, samples: 1000 },
};

/** 1-8-8-1 ReLU, 97 parameters: a full Hessian is a 97 x 97 matrix. */
export const criticalModel = sequential(
  'critical-1-8-8-1',
  { description: 'sin(5πx)/(5πx), 1-8-8-1 ReLU', task: 'regression', inputShape: [1], dataset: 'function:sinc' },
  [dense(8), relu(), dense(8), relu(), dense(1)],
);

interface PointResult {
  method: Method;
  loss: number;
  gradientNorm: number;
  steps: number;
  seconds: number;
  stop: string;
  eigen: { ratio: number | null; positive: number; negative: number; zero: number; tolerance: number };
  sampled: { ratio: number; higher: number; equal: number };
  pointClass: PointClass;
  /** Whether the gradient is continuous around the point (false: on a ReLU kink, where ||g|| cannot be driven lower). */
  smooth: boolean;
  /** ||g(θ + εu) - g(θ)|| / ε, the largest over 8 random directions, against ||H||_F. */
  jump: { maxQuotient: number; hessianNorm: number };
  /** ||g|| per phase-2 step, thinned to at most 400 points: [step, norm]. */
  trace: Array<[number, number]>;
  weights: string;
}

interface MinimalRatioAnalysis {
  parameters: number;
  runs: Array<{ key: string; seed: number; phase1Loss: number; phase1GradientNorm: number; points: PointResult[] }>;
}

/** The experiment at the given scales (tests run it smaller than the quick profile). */
export function minimalRatioStudy(scales: Record<Profile, MinimalRatioScale> = PROFILES): Experiment {
  const experiment: Experiment = {
    id: '1-2-minimal-ratio',
    section: '1-2',
    title: 'Optimization: when the gradient is almost zero (minimal ratio)',

    plan(profile, seed) {
      const p = scales[profile];
      const runs: RunSpec[] = Array.from({ length: p.runs }, (_, i) => ({
        key: `run-${String(i + 1).padStart(3, '0')}`,
        label: `run ${i + 1} (seed ${seed + i})`,
        group: 'sinc',
        model: criticalModel,
        data: { limitTrain: POINTS, limitTest: POINTS },
        training: { epochs: p.phase1Epochs, batchSize: 'full-batch', optimizer: 'adam', lr: 1e-2, evalEvery: p.phase1Epochs, dtype: 'float64' },
        seed,
        runSeed: seed + i,
      }));
      return {
        runs,
        settings: {
          model: `1-8-8-1 ReLU (${resolveModel(criticalModel).parameterCount} parameters) on ${POINTS} points of sin(5πx)/(5πx) on (0, 1], MSE, full batch, float64 graphs throughout`,
          'phase 1': `Adam 1e-2, ${p.phase1Epochs} full-batch steps, from seeds ${seed} to ${seed + p.runs - 1}`,
          'phase 2 (a)': `Adam 1e-3 on the objective ||grad L||^2 (gradnorm_steps.onnx; its gradient 2 H g is exact), at most ${p.gradNormSteps.toLocaleString('en-US')} steps, 1,000 per call`,
          'phase 2 (b)': `Levenberg-Marquardt on grad L = 0: (H^2 + mu I) delta = -H g with the exact Hessian (hessian.onnx), mu from 1e-3 of max diag(H^2), divided by 10 after a step that lowers ||g||, multiplied by 10 and retried otherwise; at most ${p.lmSteps} steps`,
          'stop': `||g|| < ${TOLERANCE} (float64) or the step limit, whichever comes first (each run says which)`,
          'minimal ratio (1)': 'the share of Hessian eigenvalues above max|lambda| * P * 2.2e-16 (numpy\'s rank rule in float64); below that, an eigenvalue counts as zero',
          'minimal ratio (2)': `the share of ${p.samples.toLocaleString('en-US')} neighbours theta + delta, delta uniform on the sphere of radius ${RADIUS}, whose loss is higher (neighbours.onnx, all in one call; seeded)`,
          classes: 'saddle: eigenvalues of both signs; minimum: all positive; degenerate: positive and zero ones only (a minimum only as far as second order tells)',
        },
      };
    },

    async analyze(results, context) {
      const p = scales[results.profile];
      const model = resolveModel(criticalModel);
      const spec = experiment.plan(results.profile, results.seed).runs[0]!;
      const data = dataForModel(model, spec.data).train;
      const batch: FixedBatch = { x: data.inputs, target: data.targets!, count: data.count };
      const runtime = { ep: context.ep, threads: context.threads };
      const oracle = await networkSecondOrder(model, batch, runtime);
      const neighbours = async (theta: Float64Array) => modelBatchLoss(model, theta, batch, runtime);
      const out: MinimalRatioAnalysis = { parameters: model.parameterCount, runs: [] };
      try {
        for (const run of results.runs) {
          const start = flattenWeights(model, runWeights(context.outDir, run, model));
          const phase1 = await oracle.gradientAt(start);
          const points: PointResult[] = [];
          for (const method of METHODS) {
            const started = performance.now();
            let theta: Float64Array;
            let steps: number;
            let stop: string;
            let trace: number[];
            if (method === 'lm') {
              const lm = await levenbergMarquardt((t) => oracle.at(t), start, { tolerance: TOLERANCE, maxSteps: p.lmSteps });
              [theta, steps, stop, trace] = [lm.theta, lm.steps, lm.stop, lm.gradientNorms];
            } else if (Math.hypot(...phase1.gradient) < TOLERANCE) {
              // Already critical: gradnorm_steps checks the norm only after each call of `chunk` steps.
              [theta, steps, stop, trace] = [Float64Array.from(start), 0, 'tolerance', [Math.hypot(...phase1.gradient)]];
            } else {
              const descent = await gradNormDescent(model, adam(), batch, start, { ...runtime, lr: 1e-3, maxSteps: p.gradNormSteps, tolerance: TOLERANCE, chunk: 1000 });
              [theta, steps, stop, trace] = [descent.theta, descent.steps, descent.stop, descent.gradientNorms];
            }
            const seconds = (performance.now() - started) / 1000;
            const at = await oracle.at(theta);
            const size = model.parameterCount;
            const eigenvalues = hessianEigenvalues(new Matrix(Array.from({ length: size }, (_, i) => Array.from(at.hessian.subarray(i * size, (i + 1) * size)))));
            const eigen = minimalRatio(eigenvalues, { dtype: 'float64' });
            const sampler = await neighbours(theta);
            const sampled = await sampledMinimalRatio(sampler.lossAt, theta, { radius: RADIUS, samples: p.samples, random: new Random(run.runSeed ?? run.seed), batch: p.samples });
            await sampler.release();
            const jump = await gradientJump((t) => oracle.gradientAt(t), theta, at.hessian, { random: new Random(run.runSeed ?? run.seed) });
            const weights = join(results.experiment, 'analysis', `${results.profile}-seed${results.seed}`, `${run.key}-${method}.safetensors`);
            writeModelWeights(join(context.outDir, weights), model, splitByParameters(model, theta), { method, run: run.key });
            points.push({
              method,
              loss: at.loss,
              gradientNorm: Math.sqrt(at.gradient.reduce((s, g) => s + g * g, 0)),
              steps,
              seconds,
              stop,
              eigen: { ratio: eigen.ratio, positive: eigen.positive, negative: eigen.negative, zero: eigen.zero, tolerance: eigen.tolerance },
              sampled: { ratio: sampled.ratio, higher: sampled.higher, equal: sampled.equal },
              pointClass: classifyCriticalPoint(eigen),
              smooth: jump.smooth,
              jump: { maxQuotient: jump.maxQuotient, hessianNorm: jump.hessianNorm },
              trace: thin(trace.map((norm, i) => [i, norm] as [number, number]), 400),
              weights,
            });
          }
          out.runs.push({ key: run.key, seed: run.runSeed ?? run.seed, phase1Loss: phase1.loss, phase1GradientNorm: Math.sqrt(phase1.gradient.reduce((s, g) => s + g * g, 0)), points });
          context.log(`1-2-minimal-ratio: ${run.key}: ${points.map((q) => `${q.method} ||g|| ${q.gradientNorm.toExponential(2)} (${q.stop}, ${q.steps} steps)`).join(', ')}`);
        }
      } finally {
        await oracle.release();
      }
      return out;
    },

    async charts(results, outDir) {
      const a = results.analysis as MinimalRatioAnalysis | undefined;
      if (!a) return [];
      const charts: ChartFile[] = [];
      const styles: Record<PointClass, 'circle' | 'triangle' | 'rect' | 'crossRot' | 'star'> = { minimum: 'circle', saddle: 'triangle', degenerate: 'rect', maximum: 'crossRot', flat: 'star' };
      const all = a.runs.flatMap((run) => run.points);
      for (const definition of ['eigen', 'sampled'] as const) {
        const path = join(results.experiment, `ratio-loss-${definition}.png`);
        const series = METHODS.flatMap((method) =>
          (Object.keys(styles) as PointClass[]).flatMap((pointClass) => {
            const points = all.filter((q) => q.method === method && q.pointClass === pointClass && (definition === 'sampled' || q.eigen.ratio !== null));
            return points.length
              ? [{ label: `${METHOD_LABELS[method]}, ${pointClass}`, colorKey: method, pointStyle: styles[pointClass], points: points.map((q) => ({ x: definition === 'eigen' ? q.eigen.ratio! : q.sampled.ratio, y: q.loss })) }]
              : [];
          }),
        );
        await writeScatterChart(join(outDir, path), {
          title: `Minimal ratio (${definition === 'eigen' ? 'share of positive Hessian eigenvalues' : `share of higher neighbours, radius ${RADIUS}`}) against the loss`,
          xLabel: definition === 'eigen' ? 'minimal ratio: positive eigenvalues / parameters' : 'minimal ratio: neighbours with a higher loss / neighbours',
          yLabel: 'loss at the point (MSE, log scale)',
          logY: true,
          colorOrder: [...METHODS],
          series,
        });
        charts.push({ path, caption: `Each run's end point of phase 2, colour by method, marker by point class (triangle: saddle, square: degenerate, circle: minimum).` });
      }
      const normsPath = join(results.experiment, 'final-gradient-norms.png');
      await writeChart(join(outDir, normsPath), {
        title: 'Final gradient norms, sorted, per method',
        xLabel: 'run (sorted by its final ||grad L||)',
        yLabel: '||grad L|| at the end (log scale)',
        logY: true,
        integerX: true,
        colorOrder: [...METHODS],
        series: METHODS.map((method) => ({
          label: METHOD_LABELS[method],
          colorKey: method,
          points: all.filter((q) => q.method === method).map((q) => q.gradientNorm).sort((x, y) => x - y).map((y, i) => ({ x: i + 1, y: Math.max(y, 1e-300) })),
        })),
      });
      charts.push({ path: normsPath, caption: `The final gradient norm of every run, sorted, for each method (the tolerance is ${TOLERANCE}).` });
      const tracePath = join(results.experiment, 'phase2-traces.png');
      await writeChart(join(outDir, tracePath), {
        title: 'Phase 2: the gradient norm per step (the first 3 runs)',
        xLabel: 'phase-2 step',
        yLabel: '||grad L|| (log scale)',
        logY: true,
        colorOrder: a.runs.slice(0, 3).map((run) => run.key),
        series: a.runs.slice(0, 3).flatMap((run) =>
          run.points.map((q) => ({ label: `${run.key}, ${METHOD_LABELS[q.method]}`, colorKey: run.key, dashed: q.method === 'gradnorm', points: q.trace.map(([x, y]) => ({ x, y: Math.max(y, 1e-300) })) })),
        ),
      });
      charts.push({ path: tracePath, caption: 'The gradient norm along phase 2 for three runs: Levenberg-Marquardt solid, descent on ||grad L||^2 dashed.' });
      return charts;
    },

    report(results, charts) {
      const a = results.analysis as MinimalRatioAnalysis | undefined;
      const lines = [...settingsSection(results.settings)];
      if (!a) return [...lines, 'Phase 2 and the minimal ratios are computed once all phase-1 runs have finished.'].join('\n');
      const all = a.runs.flatMap((run) => run.points);
      const median = (values: number[]) => {
        const s = [...values].sort((x, y) => x - y);
        return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      };
      lines.push(
        markdownTable(
          ['method', 'runs', 'median final ||g||', 'worst', 'below the tolerance', 'median steps', 'median seconds', 'saddles', 'degenerate', 'minima'],
          METHODS.map((method) => {
            const q = all.filter((point) => point.method === method);
            const count = (c: PointClass) => String(q.filter((point) => point.pointClass === c).length);
            return [
              METHOD_LABELS[method],
              String(q.length),
              formatNumber(median(q.map((point) => point.gradientNorm))),
              formatNumber(Math.max(...q.map((point) => point.gradientNorm))),
              String(q.filter((point) => point.gradientNorm < TOLERANCE).length),
              String(median(q.map((point) => point.steps))),
              median(q.map((point) => point.seconds)).toFixed(2),
              count('saddle'),
              count('degenerate'),
              count('minimum'),
            ];
          }),
        ),
        '',
      );
      for (const chart of charts) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      const phase1 = median(a.runs.map((run) => run.phase1GradientNorm));
      const lm = all.filter((q) => q.method === 'lm');
      const gn = all.filter((q) => q.method === 'gradnorm');
      const faster = median(lm.map((q) => q.seconds)) < median(gn.map((q) => q.seconds)) ? METHOD_LABELS.lm : METHOD_LABELS.gradnorm;
      const resolved = all.filter((q) => q.eigen.ratio !== null);
      const agreement = spearman(resolved.map((q) => q.eigen.ratio!), resolved.map((q) => q.sampled.ratio));
      const meanGap = resolved.reduce((s, q) => s + Math.abs(q.eigen.ratio! - q.sampled.ratio), 0) / resolved.length;
      const lossRelation = spearman(resolved.map((q) => q.eigen.ratio!), resolved.map((q) => q.loss));
      const zeros = median(all.map((q) => q.eigen.zero));
      const critical = a.runs.filter((run) => run.phase1GradientNorm < TOLERANCE);
      const nontrivialLm = a.runs.filter((run) => run.phase1GradientNorm >= TOLERANCE).flatMap((run) => run.points.filter((q) => q.method === 'lm'));
      lines.push(
        `- ${critical.length} of ${a.runs.length} runs ended phase 1 already at ||g|| below the tolerance (Adam stopped on a critical point${critical.length ? `, at losses ${formatNumber(Math.min(...critical.map((run) => run.phase1Loss)))} to ${formatNumber(Math.max(...critical.map((run) => run.phase1Loss)))}` : ''}); of the other ${nontrivialLm.length}, Levenberg-Marquardt brought ${nontrivialLm.filter((q) => q.gradientNorm < TOLERANCE).length} below it and ${nontrivialLm.filter((q) => q.gradientNorm < 1e-8).length} below 1e-8.`,
        `- Phase 1 ends with a median ||g|| of ${formatNumber(phase1)}. From there Levenberg-Marquardt reaches a median ${formatNumber(median(lm.map((q) => q.gradientNorm)))} in a median ${median(lm.map((q) => q.steps))} steps, the descent on ||grad L||^2 ${formatNumber(median(gn.map((q) => q.gradientNorm)))} in ${median(gn.map((q) => q.steps))}; ${faster} is faster in median seconds per run.`,
        `- ${lm.filter((q) => q.pointClass === 'saddle').length} of ${lm.length} Levenberg-Marquardt points and ${gn.filter((q) => q.pointClass === 'saddle').length} of ${gn.length} descent points are saddles (eigenvalues of both signs); a median ${zeros} of ${a.parameters} eigenvalues are zero to round-off at the end points (dead ReLU units and rescalings), so a strict minimum is rare.`,
        `- Of the end points that missed the tolerance, ${all.filter((q) => q.gradientNorm >= TOLERANCE && !q.smooth).length} of ${all.filter((q) => q.gradientNorm >= TOLERANCE).length} sit on a ReLU kink: the gradient jumps there (a difference quotient over 1e-7 more than 10 times ||H||_F), so no step of either method lowers ||g|| further; these are nonsmooth points, not smooth critical points, and their eigenvalues describe one side only.`,
        `- The two definitions: the mean |difference| of the two ratios is ${meanGap.toFixed(3)} and their Spearman correlation ${Number.isFinite(agreement) ? agreement.toFixed(2) : 'n/a'}. The sampled ratio counts a flat direction as "not higher" (ties: ${all.reduce((s, q) => s + q.sampled.equal, 0)} of ${all.length * (scales[results.profile].samples)} neighbours had exactly the centre's loss) and weighs directions by how many dimensions they span, so it need not equal the eigenvalue share.`,
        `- Minimal ratio (eigenvalues) against the loss: Spearman ${Number.isFinite(lossRelation) ? lossRelation.toFixed(2) : 'n/a'} (${lossRelation < -0.3 ? 'lower losses come with larger ratios, as the slides suggest' : lossRelation > 0.3 ? 'higher losses come with larger ratios: the slides\' picture does not reproduce here' : 'little relation here: the slides\' picture of lower loss at larger ratios does not reproduce clearly'}).`,
        `- Every end point's weights are in \`${results.experiment}/analysis/${results.profile}-seed${results.seed}/<run>-<method>.safetensors\` (float64), so each ratio and gradient norm can be recomputed from them.`,
        '',
      );
      return lines.join('\n');
    },
  };
  return experiment;
}

export const minimalRatioExperiment = minimalRatioStudy();
