/**
 * HW1 1-3 bonus, "sharp minima can generalize" (Dinh et al. 2017): one
 * trained MNIST ReLU network, 784-32-10, rescaled by fc1 · a and fc2.weight / a
 * for a from 1e-2 to 1e2. The network stays the same function (its logits
 * and its loss, measured), while λ_max of the Hessian, the slides' quadratic
 * sharpness and the directly maximized ε-ball sharpness move by orders of
 * magnitude: flatness measured in parameter coordinates is not a property of
 * the function the network computes.
 */
import { join } from 'node:path';
import { networkSecondOrder, type FixedBatch } from '../src/analysis/criticalSearch.ts';
import { flattenWeights } from '../src/analysis/flatWeights.ts';
import { hessianOperator, parameterLayout, type ParameterSlice } from '../src/analysis/hessian.ts';
import { lanczos } from '../src/analysis/lanczos.ts';
import { denseNetworkOutputs, rescaleLayers } from '../src/analysis/reparametrize.ts';
import { blockDiagonalTop, epsilonBallMaximum, quadraticSharpness } from '../src/analysis/sharpness.ts';
import { writeChart } from '../src/charts/lineChart.ts';
import { dataForModel } from '../src/data/forModel.ts';
import type { Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunSpec } from '../src/experiments/types.ts';
import { runWeights } from '../src/experiments/weights.ts';
import { dense, flatten, relu } from '../src/nn/layers.ts';
import { resolveModel, sequential, type Model } from '../src/nn/model.ts';
import { Random } from '../src/util/random.ts';

/** How much of the study a profile does. */
export interface ReparametrizationScale {
  /** Training and test images: the first this many; all when undefined. */
  limitTrain?: number;
  limitTest?: number;
  epochs: number;
  /** The analysis runs on the first this many training images (all of them trained on). */
  examples: number;
  /** The rescaling factors a. */
  factors: readonly number[];
  /** Projected gradient ascent steps of each ε-ball maximization. */
  ballSteps: number;
  /** Most Hessian-vector products of one Lanczos run. */
  lanczosSteps: number;
}

const FACTORS = [1e-2, 3e-2, 1e-1, 3e-1, 1, 3, 10, 30, 100] as const;

const PROFILES: Record<Profile, ReparametrizationScale> = {
  quick: { limitTrain: 5000, limitTest: 1000, epochs: 3, examples: 500, factors: FACTORS, ballSteps: 20, lanczosSteps: 200 },
  full: { epochs: 10, examples: 2000, factors: FACTORS, ballSteps: 50, lanczosSteps: 300 },
};

/** Lanczos stops when ||H y − θ y|| ≤ this × |θ| for the top Ritz pair. */
const LANCZOS_TOLERANCE = 1e-6;
/** The slides' ε, and one a hundred times larger where the quadratic model need not hold. */
const EPSILONS = [1e-4, 1e-2] as const;
const LAYER = 'fc1';
const NEXT = 'fc2';

/** flatten → fc1 (32) → ReLU → fc2 (10): the smallest network with a ReLU between two dense layers to rescale across. */
export const reparametrizationModel = sequential(
  'reparametrization-dnn',
  { description: 'MNIST classifier, fully connected 784-32-10 with ReLU', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [flatten(), dense(32), relu(), dense(10)],
);

interface BallRow {
  epsilon: number;
  /** max L(θ + δ) − L(θ) found with ||δ|| ≤ ε. */
  rise: number;
  /** rise / (1 + L). */
  sharpness: number;
  /** The slides' λ_max ε² / (2 (1 + L)) at the same ε. */
  quadratic: number;
  steps: number;
  radiusUsed: number;
}

interface FactorRow {
  factor: number;
  /** max over examples and classes of |logit(a) − logit(1)|, plain float64 arithmetic. */
  maxLogitDifference: number;
  loss: number;
  /** loss(a) − loss(1). */
  lossDifference: number;
  gradientNorm: number;
  lambdaMax: number;
  lanczos: { steps: number; converged: boolean; relativeResidual: number };
  balls: BallRow[];
  seconds: number;
}

interface BlockTop {
  name: string;
  size: number;
  top: number;
  steps: number;
  converged: boolean;
}

interface ReparametrizationAnalysis {
  parameters: number;
  examples: number;
  /** At a = 1. */
  reference: { loss: number; maxAbsLogit: number; lambdaMax: number };
  /** The top eigenvalue of each diagonal block of the Hessian at a = 1 (fc1: weight and bias together). */
  blocks: BlockTop[];
  /**
   * Where the two leading-order asymptotes cross, a* = (λ(fc1) / λ(fc2.weight))^(1/4),
   * λ_max there, and the lower bound sqrt(λ(fc1) λ(fc2.weight)) that holds at every a
   * (a principal block's top eigenvalue never exceeds the whole matrix's, Cauchy interlacing).
   */
  crossover?: { factor: number; lambdaMax: number; steps: number; converged: boolean; bound: number };
  rows: FactorRow[];
  seconds: number;
}

const count = (n: number) => n.toLocaleString('en-US');

/** The diagonal blocks the rescaling multiplies differently: fc1 (weight and bias) by 1/a², fc2.weight by a², fc2.bias not at all. */
function rescalingBlocks(model: Model): ParameterSlice[] {
  const layout = parameterLayout(model);
  const block = (name: string, members: string[]): ParameterSlice => {
    const parts = layout.filter((slice) => members.includes(slice.name));
    const size = parts.reduce((n, slice) => n + slice.size, 0);
    return { name, shape: [size], offset: parts[0]!.offset, size };
  };
  return [block(LAYER, [`${LAYER}.weight`, `${LAYER}.bias`]), block(`${NEXT}.weight`, [`${NEXT}.weight`]), block(`${NEXT}.bias`, [`${NEXT}.bias`])];
}

/** The leading-order λ_max of the rescaled network from the blocks at a = 1: a² λ(fc2.weight) for large a, λ(fc1) / a² for small a. */
function predicted(blocks: readonly BlockTop[], factor: number): { large: number; small: number } {
  const top = (name: string) => blocks.find((b) => b.name === name)!.top;
  return { large: factor * factor * top(`${NEXT}.weight`), small: top(LAYER) / (factor * factor) };
}

/** The experiment at the given scales (tests run it smaller than the quick profile). */
export function reparametrizationStudy(scales: Record<Profile, ReparametrizationScale> = PROFILES): Experiment {
  const experiment: Experiment = {
    id: '1-3-reparametrization',
    section: '1-3',
    title: 'Generalization (bonus): the same function with any sharpness (Dinh et al. 2017)',

    plan(profile, seed) {
      const s = scales[profile];
      const model = resolveModel(reparametrizationModel);
      const runs: RunSpec[] = [
        {
          key: 'mnist-784-32-10',
          label: '784-32-10 ReLU',
          group: 'mnist',
          model: reparametrizationModel,
          data: { limitTrain: s.limitTrain, limitTest: s.limitTest },
          training: { epochs: s.epochs, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: s.epochs },
          seed,
        },
      ];
      const images = s.limitTrain !== undefined ? `the first ${count(s.limitTrain)} training and ${s.limitTest !== undefined ? count(s.limitTest) : 'all'} test images` : 'the whole training and test sets';
      return {
        runs,
        settings: {
          model: `MNIST, flatten → ${LAYER} (32) → ReLU → ${NEXT} (10), ${count(model.parameterCount)} parameters`,
          training: `${images}; Adam 1e-3 (PyTorch's defaults), batch 64, ${s.epochs} epochs, seed ${seed}, float32 graphs`,
          rescaling: `${LAYER}.weight and ${LAYER}.bias times a, ${NEXT}.weight divided by a, ${NEXT}.bias unchanged; a ∈ {${s.factors.join(', ')}}; relu(a z) = a relu(z) for a > 0 makes it the same function`,
          'analysis data': `the first ${count(s.examples)} training images (among those trained on), mean cross-entropy; all of it in float64, from the trained float32 weights`,
          outputs: `the logits of each rescaled network in plain float64 arithmetic (no ONNX); max abs(difference) from a = 1 over the ${count(s.examples)} images and 10 classes`,
          loss: 'gradient.onnx in float64 at the rescaled weights; Δloss = loss(a) − loss(1)',
          'λ_max': `Lanczos with full reorthogonalization on exact float64 Hessian-vector products (hvp.onnx), from a random start (seed ${seed}), stopped when ||H y − λ y|| ≤ ${LANCZOS_TOLERANCE} |λ| for the top Ritz pair, at most ${s.lanczosSteps} products`,
          sharpness: `quadratic: λ_max ε² / (2 (1 + L)) at ε = ${EPSILONS[0]} (the slides); direct: the largest L(θ + δ) − L(θ) over ||δ|| ≤ ε divided by 1 + L, by projected normalized gradient ascent (${s.ballSteps} steps from ε times the top eigenvector, both signs tried), float64, at ε = ${EPSILONS.join(' and ')}`,
          prediction: `the top eigenvalue of each diagonal Hessian block at a = 1 (${LAYER} weight and bias together, ${NEXT}.weight, ${NEXT}.bias; Lanczos, same tolerance); in the rescaled coordinates H_a = T⁻¹ H T⁻¹ with T = diag(a, 1/a, 1), so the ${LAYER} block is multiplied by 1/a² and ${NEXT}.weight's by a²: λ_max → a² λ(${NEXT}.weight) for large a and λ(${LAYER}) / a² for small a`,
        },
      };
    },

    async analyze(results, context) {
      const started = performance.now();
      const s = scales[results.profile];
      const model = resolveModel(reparametrizationModel);
      const run = results.runs[0]!;
      const trained = runWeights(context.outDir, run, model);
      const data = dataForModel(model, { limitTrain: s.examples, limitTest: 1 }).train;
      const batch: FixedBatch = { x: data.inputs, target: BigInt64Array.from(data.labels!, (c) => BigInt(c)), count: data.count };
      const runtime = { ep: context.ep, threads: context.threads };
      const size = model.parameterCount;
      const rescaled = (factor: number) => rescaleLayers(model, trained, { layer: LAYER, next: NEXT, factor });
      const oracle = await networkSecondOrder(model, batch, runtime);

      /** λ_max by Lanczos at these weights, and (at a = 1) each block's top eigenvalue from the same operator. */
      const spectrum = async (weights: Map<string, Float64Array>, withBlocks: boolean) => {
        const operator = await hessianOperator(model, weights, batch, { ...runtime, dtype: 'float64' });
        try {
          const top = await lanczos((v) => operator.apply(v), size, { k: 1, tolerance: LANCZOS_TOLERANCE, steps: s.lanczosSteps, random: new Random(results.seed) });
          const blocks = withBlocks ? await blockDiagonalTop((v) => operator.apply(v), rescalingBlocks(model), { tolerance: LANCZOS_TOLERANCE, steps: s.lanczosSteps, random: new Random(results.seed) }) : undefined;
          return { top, blocks: blocks?.blocks ?? [] };
        } finally {
          await operator.release();
        }
      };

      try {
        const reference = rescaled(1);
        const referenceLogits = denseNetworkOutputs(model, reference, data.inputs, data.count);
        const referenceLoss = (await oracle.gradientAt(flattenWeights(model, reference))).loss;
        const atOne = await spectrum(reference, true);
        context.log(`1-3-reparametrization: a = 1: loss ${referenceLoss.toFixed(6)}, λ_max ${atOne.top.ritzValues[0]!.toPrecision(6)}; blocks ${atOne.blocks.map((b) => `${b.name} ${b.top.toPrecision(4)}`).join(', ')}`);
        const fc1 = atOne.blocks.find((b) => b.name === LAYER)!.top;
        const fc2 = atOne.blocks.find((b) => b.name === `${NEXT}.weight`)!.top;
        let crossover: ReparametrizationAnalysis['crossover'];
        if (fc1 > 0 && fc2 > 0) {
          const factor = (fc1 / fc2) ** 0.25;
          const { top } = await spectrum(rescaled(factor), false);
          crossover = { factor, lambdaMax: top.ritzValues[0]!, steps: top.steps, converged: top.converged, bound: Math.sqrt(fc1 * fc2) };
        }
        const rows: FactorRow[] = [];
        for (const factor of s.factors) {
          const rowStarted = performance.now();
          const weights = rescaled(factor);
          const logits = denseNetworkOutputs(model, weights, data.inputs, data.count);
          let maxLogitDifference = 0;
          for (let i = 0; i < logits.length; i++) maxLogitDifference = Math.max(maxLogitDifference, Math.abs(logits[i]! - referenceLogits[i]!));
          const theta = flattenWeights(model, weights);
          const center = await oracle.gradientAt(theta);
          // a = 1 is the reference's weights exactly, and Lanczos from the same seed would repeat itself.
          const { top } = factor === 1 ? atOne : await spectrum(weights, false);
          const lambdaMax = top.ritzValues[0]!;
          const balls: BallRow[] = [];
          for (const epsilon of EPSILONS) {
            const ball = await epsilonBallMaximum((t) => oracle.gradientAt(t), theta, {
              epsilon,
              steps: s.ballSteps,
              start: top.topVector,
              random: new Random(results.seed),
              centerLoss: center.loss,
              lambdaMax,
            });
            balls.push({ epsilon, rise: ball.rise, sharpness: ball.sharpness, quadratic: quadraticSharpness(lambdaMax, center.loss, epsilon), steps: ball.steps, radiusUsed: ball.radiusUsed });
          }
          rows.push({
            factor,
            maxLogitDifference,
            loss: center.loss,
            lossDifference: center.loss - referenceLoss,
            gradientNorm: Math.hypot(...center.gradient),
            lambdaMax,
            lanczos: { steps: top.steps, converged: top.converged, relativeResidual: top.residuals[0]! / Math.abs(lambdaMax) },
            balls,
            seconds: (performance.now() - rowStarted) / 1000,
          });
          context.log(`1-3-reparametrization: a = ${factor}: max |Δ logits| ${maxLogitDifference.toExponential(2)}, Δloss ${(center.loss - referenceLoss).toExponential(2)}, λ_max ${lambdaMax.toPrecision(5)} (${top.steps} Lanczos steps)`);
        }
        const out: ReparametrizationAnalysis = {
          parameters: size,
          examples: data.count,
          reference: { loss: referenceLoss, maxAbsLogit: referenceLogits.reduce((m, v) => Math.max(m, Math.abs(v)), 0), lambdaMax: atOne.top.ritzValues[0]! },
          blocks: atOne.blocks.map((b) => ({ name: b.name, size: b.size, top: b.top, steps: b.steps, converged: b.converged })),
          ...(crossover ? { crossover } : {}),
          rows,
          seconds: (performance.now() - started) / 1000,
        };
        return out;
      } finally {
        await oracle.release();
      }
    },

    async charts(results, outDir) {
      const a = results.analysis as ReparametrizationAnalysis | undefined;
      if (!a) return [];
      const positive = (points: Array<{ x: number; y: number }>) => points.filter((p) => p.y > 0 && Number.isFinite(p.y));
      const lambdaPath = join(results.experiment, 'lambda-max.png');
      await writeChart(join(outDir, lambdaPath), {
        title: 'λ_max of the Hessian against the rescaling a (the same function at every a)',
        xLabel: `a (${LAYER} × a, ${NEXT}.weight / a; log scale)`,
        yLabel: 'top Hessian eigenvalue (log scale)',
        logX: true,
        logY: true,
        colorOrder: ['measured', 'large', 'small', 'crossover'],
        series: [
          { label: 'λ_max, Lanczos', colorKey: 'measured', points: positive(a.rows.map((row) => ({ x: row.factor, y: row.lambdaMax }))) },
          ...(a.crossover ? [{ label: `λ_max at a* = ${formatNumber(a.crossover.factor, 3)}, where the asymptotes cross`, colorKey: 'crossover', points: positive([{ x: a.crossover.factor, y: a.crossover.lambdaMax }]) }] : []),
          { label: `a² × λ(${NEXT}.weight block at a = 1)`, colorKey: 'large', dashed: true, points: positive(a.rows.map((row) => ({ x: row.factor, y: predicted(a.blocks, row.factor).large }))) },
          { label: `λ(${LAYER} block at a = 1) / a²`, colorKey: 'small', dashed: true, points: positive(a.rows.map((row) => ({ x: row.factor, y: predicted(a.blocks, row.factor).small }))) },
        ],
      });
      const sharpnessPath = join(results.experiment, 'sharpness.png');
      await writeChart(join(outDir, sharpnessPath), {
        title: 'Sharpness against the rescaling a: quadratic (λ_max ε² / 2(1+L)) and direct ε-ball maximum',
        xLabel: 'a (log scale)',
        yLabel: 'sharpness: max loss rise in the ε-ball / (1 + L) (log scale)',
        logX: true,
        logY: true,
        colorOrder: EPSILONS.map(String),
        series: EPSILONS.flatMap((epsilon, e) => [
          { label: `direct, ε = ${epsilon}`, colorKey: String(epsilon), points: positive(a.rows.map((row) => ({ x: row.factor, y: row.balls[e]!.sharpness }))) },
          { label: `quadratic, ε = ${epsilon}`, colorKey: String(epsilon), dashed: true, points: positive(a.rows.map((row) => ({ x: row.factor, y: row.balls[e]!.quadratic }))) },
        ]),
      });
      return [
        {
          path: lambdaPath,
          caption: `λ_max of the mean cross-entropy's Hessian on the first ${count(a.examples)} training images at each a (solid), and the leading-order predictions from the diagonal blocks at a = 1 (dashed). The loss is the same at every a to ${formatNumber(Math.max(...a.rows.map((row) => Math.abs(row.lossDifference))), 2)}.`,
        },
        { path: sharpnessPath, caption: 'Direct ε-ball sharpness (solid, projected gradient ascent in float64) and the slides\' quadratic formula from λ_max (dashed), at ε = 1e-4 and 1e-2.' },
      ];
    },

    report(results, charts) {
      const a = results.analysis as ReparametrizationAnalysis | undefined;
      const lines = [...settingsSection(results.settings)];
      if (!a) return [...lines, 'The rescalings are analyzed once the training run has finished.'].join('\n');
      lines.push(
        markdownTable(
          ['a', 'max abs(Δ logit)', 'loss', 'Δloss', '‖∇L‖', 'λ_max', 'Lanczos steps', 'sharpness, quadratic ε=1e-4', 'direct ε=1e-4', 'direct ε=1e-2'],
          a.rows.map((row) => [
            String(row.factor),
            row.maxLogitDifference.toExponential(1),
            row.loss.toPrecision(12),
            row.lossDifference === 0 ? '0' : row.lossDifference.toExponential(1),
            formatNumber(row.gradientNorm),
            formatNumber(row.lambdaMax),
            `${row.lanczos.steps}${row.lanczos.converged ? '' : ' (not converged)'}`,
            formatNumber(row.balls[0]!.quadratic),
            formatNumber(row.balls[0]!.sharpness),
            formatNumber(row.balls[1]!.sharpness),
          ]),
        ),
        '',
        `Diagonal blocks of the Hessian at a = 1, top eigenvalues: ${a.blocks.map((b) => `${b.name} (${count(b.size)} parameters) ${formatNumber(b.top)}${b.converged ? '' : ' (not converged)'}`).join(', ')}; λ_max of the whole Hessian ${formatNumber(a.reference.lambdaMax)}.`,
        '',
      );
      for (const chart of charts) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
      lines.push(...observations(a), '');
      return lines.join('\n');
    },
  };
  return experiment;
}

/** Log-log slope of y against a between two rows. */
const slope = (p: FactorRow, q: FactorRow, y: (row: FactorRow) => number) => Math.log(y(q) / y(p)) / Math.log(q.factor / p.factor);

/** What the report says, computed from the table. */
function observations(a: ReparametrizationAnalysis): string[] {
  const rows = [...a.rows].sort((p, q) => p.factor - q.factor);
  if (rows.length < 2) return ['- Fewer than two factors: nothing to compare.'];
  const lambdas = rows.map((row) => row.lambdaMax);
  const largest = rows[lambdas.indexOf(Math.max(...lambdas))]!;
  const smallest = rows[lambdas.indexOf(Math.min(...lambdas))]!;
  const maxLogit = Math.max(...rows.map((row) => row.maxLogitDifference));
  const maxLoss = Math.max(...rows.map((row) => Math.abs(row.lossDifference)));
  const lines = [
    `- The function does not change: over a from ${rows[0]!.factor} to ${rows.at(-1)!.factor} the logits differ from a = 1 by at most ${maxLogit.toExponential(1)} (the largest |logit| is ${formatNumber(a.reference.maxAbsLogit)}, so ${(maxLogit / a.reference.maxAbsLogit).toExponential(1)} of it) and the loss by at most ${maxLoss.toExponential(1)} (${(maxLoss / a.reference.loss).toExponential(1)} of ${a.reference.loss.toFixed(6)}): float64 round-off.`,
    `- λ_max does change: from ${formatNumber(smallest.lambdaMax)} at a = ${smallest.factor} to ${formatNumber(largest.lambdaMax)} at a = ${largest.factor}, a ratio of ${formatNumber(largest.lambdaMax / smallest.lambdaMax, 3)}, while |Δloss| stays below ${maxLoss.toExponential(1)}.`,
  ];
  const unconverged = rows.filter((row) => !row.lanczos.converged);
  if (unconverged.length) lines.push(`- Lanczos did not reach its tolerance at a = ${unconverged.map((row) => row.factor).join(', ')} (relative residuals ${unconverged.map((row) => row.lanczos.relativeResidual.toExponential(1)).join(', ')}); those λ_max are lower bounds.`);

  // Dinh et al.: H_a = T⁻¹ H T⁻¹, so λ_max grows like a² at large a (fc2.weight's block) and like 1/a² at small a (fc1's).
  if (rows.length >= 3) {
    const [p, q] = [rows.at(-2)!, rows.at(-1)!];
    const [r, t] = [rows[0]!, rows[1]!];
    const high = slope(p, q, (row) => row.lambdaMax);
    const low = slope(r, t, (row) => row.lambdaMax);
    const highRatio = q.lambdaMax / predicted(a.blocks, q.factor).large;
    const lowRatio = r.lambdaMax / predicted(a.blocks, r.factor).small;
    const verdict = (measured: number, expected: number, ratio: number) =>
      Math.abs(measured - expected) <= 0.1 && Math.abs(ratio - 1) <= 0.05
        ? 'matches'
        : Math.abs(measured - expected) <= 0.3
          ? 'roughly matches'
          : 'does not match';
    lines.push(
      `- Scaling at large a: between a = ${p.factor} and ${q.factor} λ_max grows like a^${high.toFixed(2)} (Dinh et al.'s rescaling predicts a^2 once the ${NEXT}.weight block dominates); at a = ${q.factor} it is ${highRatio.toFixed(3)} times a² λ(${NEXT}.weight block at a = 1): the prediction ${verdict(high, 2, highRatio)}.`,
      `- Scaling at small a: between a = ${r.factor} and ${t.factor} λ_max goes like a^${low.toFixed(2)} (predicted a^-2 once the ${LAYER} block dominates); at a = ${r.factor} it is ${lowRatio.toFixed(3)} times λ(${LAYER} block at a = 1) / a²: the prediction ${verdict(low, -2, lowRatio)}.`,
    );
    if (a.crossover) {
      const c = a.crossover;
      const nearest = rows.reduce((best, row) => (Math.abs(Math.log(row.factor / c.factor)) < Math.abs(Math.log(best.factor / c.factor)) ? row : best));
      lines.push(
        `- The two asymptotes cross at a* = (λ(${LAYER}) / λ(${NEXT}.weight))^(1/4) = ${formatNumber(c.factor, 3)}, where λ_max is ${formatNumber(c.lambdaMax)} (${c.steps} Lanczos steps${c.converged ? '' : ', not converged'}), ${formatNumber(a.reference.lambdaMax / c.lambdaMax, 3)} times lower than at a = 1. ` +
          `No a goes below sqrt(λ(${LAYER}) λ(${NEXT}.weight)) = ${formatNumber(c.bound)} (each block's top eigenvalue bounds λ_max from below), and none bounds it above. ` +
          `On the grid the smallest λ_max is at a = ${smallest.factor}${smallest.factor === nearest.factor ? `, the grid point nearest a*` : `, not at the grid point nearest a* (${nearest.factor})`}.`,
      );
    }
  }

  for (const [e, epsilon] of EPSILONS.entries()) {
    const direct = rows.map((row) => row.balls[e]!.sharpness);
    const overQuadratic = rows.map((row) => row.balls[e]!.sharpness / row.balls[e]!.quadratic);
    // A linear-plus-quadratic model of L in the ball rises by at most ε‖∇L‖ + λ_max ε²/2.
    const overModel = rows.map((row) => (row.balls[e]!.sharpness * (1 + row.loss)) / (epsilon * row.gradientNorm + (row.lambdaMax * epsilon * epsilon) / 2));
    const linearWins = rows.filter((row) => epsilon * row.gradientNorm > (row.lambdaMax * epsilon * epsilon) / 2);
    const range = (values: number[]) => `${formatNumber(Math.min(...values), 3)} to ${formatNumber(Math.max(...values), 3)}`;
    lines.push(
      `- Direct sharpness at ε = ${epsilon}: from ${formatNumber(Math.min(...direct))} to ${formatNumber(Math.max(...direct))} across a (a ratio of ${formatNumber(Math.max(...direct) / Math.min(...direct), 3)}); its slopes on the log-log chart are ${slope(rows[0]!, rows[1]!, (row) => row.balls[e]!.sharpness).toFixed(2)} at the small end and ${slope(rows.at(-2)!, rows.at(-1)!, (row) => row.balls[e]!.sharpness).toFixed(2)} at the large end. ` +
        `It is ${range(overQuadratic)} times the slides' quadratic value and ${range(overModel)} times (ε‖∇L‖ + λ_max ε²/2) / (1 + L), the most a linear-plus-quadratic model of the loss could rise${Math.max(...overModel) > 1.05 ? ' (above 1: terms beyond the second order raise the loss further)' : ''}. ` +
        (linearWins.length
          ? `The trained weights are not a critical point (‖∇L‖ in the table): at ${linearWins.length} of ${rows.length} factors${linearWins.length < rows.length ? ` (a = ${linearWins.map((row) => row.factor).join(', ')})` : ''} the first-order rise ε‖∇L‖ exceeds λ_max ε²/2, so there the direct maximum follows the gradient (which changes with a too, as T⁻¹ ∇L), and the slides' formula underestimates it.`
          : 'At every a the quadratic term λ_max ε²/2 exceeds the first-order ε‖∇L‖, so the ratio to the quadratic value shows where the quadratic model holds (near 1) and where higher orders take over.'),
    );
  }
  const lowest = Math.min(smallest.lambdaMax, a.crossover?.lambdaMax ?? Number.POSITIVE_INFINITY);
  lines.push(
    `- So λ_max and both sharpness measures are not properties of the function: the same classifier, with the same loss on every image to round-off, has λ_max from ${formatNumber(lowest)} to ${formatNumber(largest.lambdaMax)} here, and any larger value at a further from 1, as Dinh et al. (2017) argue; comparing sharpness across networks needs a measure that such rescalings leave alone.`,
    `- The analysis (${rows.length} factors, ${count(a.parameters)} parameters, ${count(a.examples)} images) took ${a.seconds.toFixed(1)} s.`,
  );
  return lines;
}

export const reparametrizationExperiment = reparametrizationStudy();
