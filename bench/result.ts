/** One workload's measurement, as printed (one JSON line) by bench/child.ts and bench/reference/workloads.py. */
import type { Quality } from './workloads/workload.ts';

export type Implementation = 'hw1-onnx' | 'pytorch';

export interface BenchResult {
  name: string;
  implementation: Implementation;
  description: string;
  /** What the timed region contains. */
  timed: string;
  /** Median of the timed repeats, seconds. */
  seconds: number;
  min: number;
  /** Every timed repeat in order, seconds (the warm-up is not among them). */
  times: number[];
  /** The process's peak resident set size, MiB (setup and data included: one process per workload). */
  peakRssMb: number;
  quality: Quality;
  threads: number;
  dtype: string;
  repeats: number;
  /** Software versions that produced the numbers. */
  versions: Record<string, string>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One workload measured in several rounds (processes run at different
 * times): every timed repeat counts for the median and minimum, the peak RSS
 * is the largest of the rounds'.
 */
export function combineRounds(rounds: readonly BenchResult[]): BenchResult {
  const first = rounds[0]!;
  const times = rounds.flatMap((r) => r.times);
  return { ...first, seconds: median(times), min: Math.min(...times), times, peakRssMb: Math.max(...rounds.map((r) => r.peakRssMb)), repeats: times.length };
}

/**
 * hw1-onnx's time over PyTorch's as the median of the rounds' own ratios:
 * each round measures both back to back, so a machine whose speed drifts
 * between rounds (this project's moves by tens of percent within minutes)
 * moves both sides of each ratio alike.
 */
export function pairedRatio(pytorch: readonly BenchResult[], ours: readonly BenchResult[]): number {
  if (pytorch.length !== ours.length || ours.length === 0) throw new Error(`pairedRatio: ${pytorch.length} PyTorch rounds for ${ours.length} of hw1-onnx`);
  return median(ours.map((result, i) => result.seconds / pytorch[i]!.seconds));
}
