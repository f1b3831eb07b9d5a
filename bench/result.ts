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
