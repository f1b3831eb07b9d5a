/**
 * Optimization trajectories in a shared PCA plane (HW1 1-2): the weight
 * snapshots of several runs, projected together so that every run's path is
 * drawn in the same coordinates, and numbers that say what the picture shows.
 */
import type { Model } from '../nn/model.ts';
import { flattenWeights, type Weights } from './flatWeights.ts';
import { pca, type PcaResult } from './pca.ts';

export interface TrajectoryInput {
  label: string;
  /** In time order. */
  snapshots: Array<{ epoch: number; weights: Weights }>;
}

export interface ProjectedTrajectory {
  label: string;
  points: Array<{ epoch: number; x: number; y: number }>;
}

export interface TrajectoryPlane {
  /** The parameter projected ("fc1.weight"), or undefined for the whole model. */
  parameter?: string;
  dimensions: number;
  explainedVarianceRatio: [number, number];
  trajectories: ProjectedTrajectory[];
  /** Mean length of a trajectory's path in the plane (sum of its segments). */
  meanPathLength: number;
  /** Mean distance between the runs' final points in the plane. */
  finalSpread: number;
  /** Mean distance between the runs' starting points in the plane. */
  initialSpread: number;
  /** The PCA itself: mean and unit axes in parameter space (for surfaces in this plane). */
  pca: PcaResult;
}

/** One PCA over every snapshot of every run (mean-centred, float64), then each run's points in its first two axes. */
export function trajectoryPlane(model: Model, runs: readonly TrajectoryInput[], parameter?: string): TrajectoryPlane {
  const rows = runs.flatMap((run) => run.snapshots.map((s) => flattenWeights(model, s.weights, parameter)));
  const result = pca(rows, 2);
  let row = 0;
  const trajectories = runs.map((run) => ({
    label: run.label,
    points: run.snapshots.map((s) => {
      const [x, y] = result.scores[row++]!;
      return { epoch: s.epoch, x: x!, y: y ?? 0 };
    }),
  }));
  const distance = (a: { x: number; y: number }, b: { x: number; y: number }) => Math.hypot(a.x - b.x, a.y - b.y);
  const pathLength = (t: ProjectedTrajectory) => t.points.slice(1).reduce((sum, p, i) => sum + distance(p, t.points[i]!), 0);
  return {
    parameter,
    dimensions: rows[0]!.length,
    explainedVarianceRatio: [result.explainedVarianceRatio[0] ?? 0, result.explainedVarianceRatio[1] ?? 0],
    trajectories,
    meanPathLength: mean(trajectories.map(pathLength)),
    finalSpread: meanPairwiseDistance(trajectories.map((t) => t.points.at(-1)!), distance),
    initialSpread: meanPairwiseDistance(trajectories.map((t) => t.points[0]!), distance),
    pca: result,
  };
}

/** Distances in the full parameter space: how far each run moved, and how far apart the runs end. */
export function weightSpaceDistances(model: Model, runs: readonly TrajectoryInput[]) {
  const ends = runs.map((run) => ({ first: flattenWeights(model, run.snapshots[0]!.weights), last: flattenWeights(model, run.snapshots.at(-1)!.weights) }));
  const euclidean = (a: Float64Array, b: Float64Array) => Math.sqrt(a.reduce((sum, v, i) => sum + (v - b[i]!) ** 2, 0));
  return {
    /** Mean ||w_final - w_initial|| over the runs. */
    meanDistanceTravelled: mean(ends.map((e) => euclidean(e.first, e.last))),
    /** Mean distance between two runs' final weights. */
    finalSpread: meanPairwiseDistance(ends.map((e) => e.last), euclidean),
    /** Mean distance between two runs' initial weights. */
    initialSpread: meanPairwiseDistance(ends.map((e) => e.first), euclidean),
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanPairwiseDistance<T>(points: readonly T[], distance: (a: T, b: T) => number): number {
  const distances: number[] = [];
  for (let i = 0; i < points.length; i++) for (let j = i + 1; j < points.length; j++) distances.push(distance(points[i]!, points[j]!));
  return distances.length ? mean(distances) : 0;
}
