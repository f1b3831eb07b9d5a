/** Small computations over run results that several experiments' charts and reports share. */
import type { EpochRecord, RunResult } from './types.ts';

/** At most `limit` points of a long curve, keeping the first and last (a 20,000-epoch curve needs no 20,000 points in a PNG). */
export function thin<T>(points: readonly T[], limit = 1500): T[] {
  if (points.length <= limit) return [...points];
  const stride = (points.length - 1) / (limit - 1);
  return Array.from({ length: limit }, (_, i) => points[Math.round(i * stride)]!);
}

/** The first epoch whose training loss is at or below `threshold`, or undefined. */
export function firstEpochBelow(epochs: readonly EpochRecord[], threshold: number): number | undefined {
  return epochs.find((e) => e.trainLoss <= threshold)?.epoch;
}

/** "1-190-1" or "conv(16,5x5)-pool-..." from a run's recorded layers and input shape. */
export function architecture(run: RunResult, inputSize: number): string {
  const widths = [inputSize];
  const parts: string[] = [];
  for (const layer of run.model.layers) {
    if (layer.type === 'Linear') widths.push(layer.outputShape[0]!);
    if (layer.type === 'Conv2d') parts.push(`conv ${layer.outputShape[0]}ch`);
    if (layer.type === 'MaxPool2d') parts.push('maxpool');
  }
  const dense = widths.join('-');
  return parts.length ? `${parts.join(', ')}, then ${run.model.layers.some((l) => l.type === 'Flatten') ? 'dense ' : ''}${widths.slice(1).join('-')}` : dense;
}

export function formatNumber(value: number | undefined, digits = 4): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? value.toPrecision(digits) : value.toExponential(digits - 1);
}

export function formatPercent(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${(100 * value).toFixed(2)}%`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The "Settings:" list every report section opens with, as lines. */
export function settingsSection(settings: Readonly<Record<string, string>>): string[] {
  return ['Settings:', '', ...Object.entries(settings).map(([k, v]) => `- ${k}: ${v}`), ''];
}
