/** What each writer of concurrentWrites.test.ts writes: a results.json large enough that writing it takes a while, and a chart, both its own. */
import type { LineChartSpec } from '../../../src/charts/lineChart.ts';
import type { ExperimentResults } from '../../../src/experiments/types.ts';

export function rewrittenResults(writer: string): ExperimentResults {
  return {
    format: 'hw1-onnx/experiment@1',
    experiment: 'shared',
    title: `written by ${writer}`,
    section: '0-0',
    profile: 'quick',
    seed: 1,
    settings: { writer, padding: writer.repeat(400_000) },
    planned: 0,
    runs: [],
    complete: true,
  };
}

export function rewrittenChart(writer: string): LineChartSpec {
  const slope = writer === 'A' ? 1 : -1;
  return { title: `chart of ${writer}`, xLabel: 'x', yLabel: 'y', series: [{ label: writer, points: Array.from({ length: 200 }, (_, x) => ({ x, y: slope * x })) }] };
}
