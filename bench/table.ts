/** Readable tables of benchmark results (Markdown pipe tables, so they paste into the README as they are). */
import type { BenchResult } from './result.ts';

export function seconds(value: number): string {
  return value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

export function quality({ name, value }: BenchResult['quality']): string {
  if (/accuracy/.test(name)) return `${name} ${(value * 100).toFixed(2)}%`;
  return `${name} ${Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? value.toPrecision(4) : value.toExponential(3)}`;
}

const megabytes = (value: number) => `${Math.round(value)} MB`;

/** Columns padded to their widest cell; `align` is 'l' or 'r' per column. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: string): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length), 3));
  const pad = (cell: string, i: number) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (align[i] === 'r' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function resultsTable(results: readonly BenchResult[]): string {
  return markdownTable(
    ['workload', 'median s', 'min s', 'repeats', 'peak RSS', 'quality'],
    results.map((r) => [r.name, seconds(r.seconds), seconds(r.min), String(r.repeats), megabytes(r.peakRssMb), quality(r.quality)]),
    'lrrrrl',
  );
}

/** One row per workload: PyTorch and hw1-onnx side by side; ratio = hw1-onnx seconds / PyTorch seconds, paired by round (result.ts's pairedRatio). */
export function comparisonTable(pairs: readonly { pytorch: BenchResult; ours: BenchResult; ratio: number }[]): string {
  return markdownTable(
    ['workload', 'PyTorch s', 'hw1-onnx s', 'ratio', 'PyTorch quality', 'hw1-onnx quality', 'PyTorch peak RSS', 'hw1-onnx peak RSS'],
    pairs.map(({ pytorch, ours, ratio }) => [
      ours.name,
      seconds(pytorch.seconds),
      seconds(ours.seconds),
      `${ratio.toFixed(2)}x`,
      quality(pytorch.quality),
      quality(ours.quality),
      megabytes(pytorch.peakRssMb),
      megabytes(ours.peakRssMb),
    ]),
    'lrrrllrr',
  );
}

/** What each workload is and what its timed region holds, one bullet per implementation. */
export function workloadNotes(results: readonly BenchResult[]): string {
  return results.map((r) => `- ${r.name} (${r.implementation}, ${r.dtype}): ${r.description}. Timed: ${r.timed}.`).join('\n');
}
