/**
 * HW1 1-2, "visualize the optimization process": an MNIST DNN trained 8
 * times from 8 initializations, its weights collected every few epochs, and
 * all the snapshots projected together onto one PCA plane, for the first
 * layer and for the whole model.
 */
import { join } from 'node:path';
import { writeScatterChart } from '../src/charts/scatterChart.ts';
import { trajectoryPlane, weightSpaceDistances, type TrajectoryPlane } from '../src/analysis/trajectories.ts';
import type { ChartFile, Experiment } from '../src/experiments/experiment.ts';
import { formatNumber, formatPercent, markdownTable, settingsSection } from '../src/experiments/summaries.ts';
import type { Profile, RunSpec, SnapshotRecord, TrainingSettings } from '../src/experiments/types.ts';
import { runSnapshots } from '../src/experiments/weights.ts';
import mnistDnn from '../models/mnist-dnn.ts';
import { resolveModel } from '../src/nn/model.ts';
import { writeSafetensors } from '../src/runtime/checkpoint.ts';

export const TRAJECTORY_RUNS = 8;
/** The layer the slides call "layer 1". */
export const TRAJECTORY_LAYER = 'fc1.weight';

/** What is written at each point of the PCA charts: the training loss or the training accuracy there. */
type PointText = 'loss' | 'accuracy';

const PROFILES: Record<Profile, { training: TrainingSettings; limitTrain?: number; limitTest?: number; every: number; pointText: PointText }> = {
  quick: { training: { epochs: 6, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 2 }, limitTrain: 5000, limitTest: 1000, every: 2, pointText: 'loss' },
  full: { training: { epochs: 24, batchSize: 64, optimizer: 'adam', lr: 1e-3, evalEvery: 3 }, every: 3, pointText: 'loss' },
};

/** The slides' MNIST DNN: models/mnist-dnn.ts, 784-256-256-10 with ReLU (269,322 parameters). */
export const trajectoryModel = mnistDnn;

export function trajectoryPlan(profile: Profile, seed: number): RunSpec[] {
  const { training, limitTrain, limitTest, every } = PROFILES[profile];
  return Array.from({ length: TRAJECTORY_RUNS }, (_, i) => ({
    key: `run-${i + 1}`,
    label: `run ${i + 1} (seed ${seed + i})`,
    group: 'mnist',
    model: trajectoryModel,
    data: { limitTrain, limitTest },
    training,
    seed,
    runSeed: seed + i,
    record: { snapshotEvery: every },
  }));
}

interface PlaneSummary extends Omit<TrajectoryPlane, 'pca'> {
  /** The plane's mean and axes, for recomputing the figure (relative to out/). */
  file: string;
}

interface TrajectoryAnalysis {
  planes: PlaneSummary[];
  weightSpace: ReturnType<typeof weightSpaceDistances>;
}

export const trajectoryExperiment: Experiment = {
  id: '1-2-trajectory',
  section: '1-2',
  title: 'Optimization: weight trajectories of 8 runs by PCA',

  plan(profile, seed) {
    const { training, limitTrain, every } = PROFILES[profile];
    return {
      runs: trajectoryPlan(profile, seed),
      settings: {
        model: `MNIST DNN 784-256-256-10, ReLU, ${resolveModel(trajectoryModel).parameterCount.toLocaleString('en-US')} parameters (${TRAJECTORY_LAYER}: 200,704)`,
        data: limitTrain ? `the first ${limitTrain.toLocaleString('en-US')} training images` : 'all 60,000 training images',
        training: `${TRAJECTORY_RUNS} runs from seeds ${seed} to ${seed + TRAJECTORY_RUNS - 1} (initial weights and batch order), ${training.optimizer} learning rate ${training.lr}, batch ${training.batchSize}, ${training.epochs} epochs`,
        recording: `weights every ${every} epochs from epoch 0, with the loss and accuracy on the whole training and test sets at each`,
        reduction: `PCA to 2 dimensions, once over all ${TRAJECTORY_RUNS} runs' snapshots together, mean-centred, float64, through the snapshots' Gram matrix`,
        'written at each point': `the training ${PROFILES[profile].pointText} there`,
      },
    };
  },

  async analyze(results, context) {
    const model = resolveModel(trajectoryModel);
    const runs = results.runs.map((run) => ({ label: run.label, snapshots: runSnapshots(context.outDir, run, model) }));
    const planes: PlaneSummary[] = [];
    for (const parameter of [TRAJECTORY_LAYER, undefined]) {
      const { pca, ...plane } = trajectoryPlane(model, runs, parameter);
      const name = parameter ? 'layer' : 'model';
      const file = join(results.experiment, 'analysis', `${results.profile}-seed${results.seed}-pca-${name}.safetensors`);
      writeSafetensors(join(context.outDir, file), new Map([
        ['mean', { shape: [pca.mean.length], data: pca.mean }],
        ['components', { shape: [2, pca.mean.length], data: Float64Array.from([...pca.components[0]!, ...pca.components[1]!]) }],
      ]), { parameter: parameter ?? 'all', explained_variance_ratio: JSON.stringify(pca.explainedVarianceRatio) });
      planes.push({ ...plane, file });
    }
    return { planes, weightSpace: weightSpaceDistances(model, runs) } satisfies TrajectoryAnalysis;
  },

  async charts(results, outDir) {
    const analysis = results.analysis as TrajectoryAnalysis | undefined;
    if (!analysis) return [];
    const charts: ChartFile[] = [];
    const byLabel = new Map(results.runs.map((run) => [run.label, run]));
    for (const plane of analysis.planes) {
      const name = plane.parameter ? 'layer1' : 'model';
      const path = join(results.experiment, `pca-${name}.png`);
      const [r1, r2] = plane.explainedVarianceRatio.map((r) => (100 * r).toFixed(1));
      await writeScatterChart(join(outDir, path), {
        title: `${plane.parameter ? `Layer 1 (${plane.parameter}, ${plane.dimensions.toLocaleString('en-US')} weights)` : `Whole model (${plane.dimensions.toLocaleString('en-US')} parameters)`}: ${results.runs.length} training runs in one PCA plane`,
        xLabel: `PC1 (${r1}% of the variance)`,
        yLabel: `PC2 (${r2}% of the variance)`,
        width: 1000,
        height: 720,
        showPointText: true,
        series: plane.trajectories.map((trajectory) => {
          const snapshots = byLabel.get(trajectory.label)!.snapshots!;
          return {
            label: trajectory.label,
            joined: true,
            points: trajectory.points.map((p, i) => ({ x: p.x, y: p.y, text: pointText(snapshots[i]!, PROFILES[results.profile].pointText) })),
          };
        }),
      });
      charts.push({
        path,
        caption: `${plane.parameter ? 'Layer 1' : 'The whole model'}: each run's weights every few epochs (epoch 0 first), joined in time order, projected onto the first two principal axes of all snapshots; the number at each point is the training ${PROFILES[results.profile].pointText} there.`,
      });
    }
    return charts;
  },

  report(results, charts) {
    const analysis = results.analysis as TrajectoryAnalysis | undefined;
    const lines = [...settingsSection(results.settings)];
    if (!analysis) return [...lines, 'The PCA is computed once all runs have finished.'].join('\n');
    lines.push(
      markdownTable(
        ['run', 'epochs', 'training loss at start', 'at the end', 'test accuracy at the end'],
        results.runs.map((run) => {
          const s = run.snapshots!;
          return [run.label, String(s.at(-1)!.epoch), formatNumber(s[0]!.trainLoss), formatNumber(s.at(-1)!.trainLoss), formatPercent(s.at(-1)!.testAccuracy)];
        }),
      ),
      '',
    );
    for (const chart of charts) lines.push(`![chart](${chart.path})`, '', `*${chart.caption}*`, '');
    for (const plane of analysis.planes) {
      const what = plane.parameter ? `Layer 1 (\`${plane.parameter}\`)` : 'The whole model';
      const ratio = plane.finalSpread / plane.meanPathLength;
      lines.push(
        `- ${what}: the two axes explain ${(100 * plane.explainedVarianceRatio[0]).toFixed(1)}% and ${(100 * plane.explainedVarianceRatio[1]).toFixed(1)}% of the snapshots' variance ` +
          `(${(100 * (plane.explainedVarianceRatio[0] + plane.explainedVarianceRatio[1])).toFixed(1)}% together). In the plane a run travels ${formatNumber(plane.meanPathLength)} on average; ` +
          `the runs start ${formatNumber(plane.initialSpread)} apart and end ${formatNumber(plane.finalSpread)} apart (mean pairwise distance), ` +
          `${ratio > 1 ? 'more than' : 'less than'} the length of a trajectory (ratio ${ratio.toFixed(2)}): ${ratio > 0.5 ? 'they end apart, each in its own region' : 'they end close together compared with how far they travel'}.`,
      );
    }
    const w = analysis.weightSpace;
    lines.push(
      `- In the full weight space a run moves ${formatNumber(w.meanDistanceTravelled)} from its initialization; two runs start ${formatNumber(w.initialSpread)} apart and end ${formatNumber(w.finalSpread)} apart: ` +
        `training moves each run ${w.meanDistanceTravelled < w.initialSpread ? 'less than the distance between two initializations, so the runs never come near each other and reach different solutions' : 'further than the distance between two initializations'}.`,
      `- The plane's mean and axes are in ${analysis.planes.map((p) => `\`${p.file}\``).join(' and ')} (safetensors, float64), the snapshots beside each run's result file.`,
      '',
    );
    return lines.join('\n');
  },
};

function pointText(snapshot: SnapshotRecord, what: PointText): string {
  return what === 'loss' ? formatNumber(snapshot.trainLoss, 3) : `${(100 * snapshot.trainAccuracy!).toFixed(1)}%`;
}
