import type { ChartConfiguration } from 'chart.js';

import { writeFileAtomic } from '../util/atomicWrite.ts';
import { assignColors } from './palette.ts';
import { renderChart } from './render.ts';
import { chartFont, checkChartSize, checkFinitePoints } from './specChecks.ts';

/** One line of a chart. */
export interface Series {
  label: string;
  points: Array<{ x: number; y: number }>;
  /**
   * What picks the color; the label unless given. Give the model name to the
   * train and the test curve of one model so that both get its color, and
   * tell them apart with `dashed`.
   */
  colorKey?: string;
  dashed?: boolean;
  /** The y axis the series is drawn against; 'left' unless given. */
  axis?: 'left' | 'right';
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The title of the right y axis, drawn when any series has axis 'right'. */
  y2Label?: string;
  series: Series[];
  /** A logarithmic x axis (parameter counts, batch sizes). */
  logX?: boolean;
  /** A logarithmic left y axis. */
  logY?: boolean;
  /** A logarithmic right y axis. */
  logY2?: boolean;
  /** Label only whole numbers on the x axis (epochs, runs). */
  integerX?: boolean;
  /** Pixels; 900 unless given. */
  width?: number;
  /** Pixels; 560 unless given. */
  height?: number;
  /**
   * Every color key of the report, in a fixed order (for example all model
   * names). With it, the n-th key gets the n-th palette color in every chart,
   * and up to ten keys never share a color; without it colors come from a hash
   * of the key (two keys of one chart still never share a color while the
   * palette has a free one). See palette.ts.
   */
  colorOrder?: readonly string[];
}

export const DEFAULT_WIDTH = 900;
export const DEFAULT_HEIGHT = 560;
/** Series with more points than this are drawn without point markers. */
export const MARKER_LIMIT = 50;

type Point = { x: number; y: number };
export type LineChartConfig = ChartConfiguration<'line', Point[]>;

function compactNumber(v: number): string {
  const exponent = Math.floor(Math.log10(Math.abs(v)) + 1e-9);
  const rounded = Number(v.toPrecision(3));
  return exponent < -3 || exponent >= 5 ? rounded.toExponential() : String(rounded);
}

function significandOf(v: number): number {
  return v / 10 ** Math.floor(Math.log10(v) + 1e-9);
}

/** 1, 2 or 5 times a power of ten. */
function is125(v: number): boolean {
  const significand = significandOf(v);
  const nearest = Math.round(significand);
  return Math.abs(significand - nearest) <= 1e-6 && [1, 2, 5].includes(nearest);
}

/** One significant digit: 1 to 9 times a power of ten. */
function isOneDigit(v: number): boolean {
  const significand = significandOf(v);
  return Math.abs(significand - Math.round(significand)) <= 1e-6;
}

/**
 * Tick labels of a logarithmic axis. `allValues` is every tick's value. Only
 * 1, 2 and 5 times a power of ten get a label (chart.js also labels 1.5, 3 and
 * 0.9, which crowd each other); when that leaves fewer than three labels (a
 * range of about a decade or less), values of one significant digit get one;
 * when even that leaves fewer than three, every tick does. Labels have no
 * trailing zeros and use exponent form outside [0.001, 100000).
 */
export function logTickLabel(value: number | string, allValues: readonly number[] = []): string {
  const v = typeof value === 'number' ? value : Number(value);
  if (!(v > 0) || !Number.isFinite(v)) return '';
  const positive = allValues.filter((t) => t > 0 && Number.isFinite(t));
  for (const keep of [is125, isOneDigit]) {
    if (positive.length === 0 || positive.filter(keep).length >= 3) return keep(v) ? compactNumber(v) : '';
  }
  return compactNumber(v);
}

/**
 * Checks a spec and throws an Error that names the chart and the series at
 * fault: no series at all, a non-finite x or y (filter NaN losses of a
 * diverged run out before charting them), or, with `logY`, a y <= 0 in a
 * series on the (logarithmic) left axis.
 */
export function validateLineChartSpec(spec: LineChartSpec): void {
  const chart = JSON.stringify(spec.title);
  if (!Array.isArray(spec.series) || spec.series.length === 0) {
    throw new Error(`line chart ${chart}: no series to draw`);
  }
  for (const series of spec.series) {
    const name = JSON.stringify(series.label);
    checkFinitePoints(`line chart ${chart}`, series.label, series.points);
    if (spec.logX === true) {
      const bad = series.points.findIndex((point) => point.x <= 0);
      if (bad >= 0) throw new Error(`line chart ${chart}: series ${name} has x=${series.points[bad]!.x} at index ${bad}, which a logarithmic x axis cannot show (all values must be > 0)`);
    }
    if ((series.axis === 'right' ? spec.logY2 : spec.logY) === true) {
      const bad = series.points.findIndex((point) => point.y <= 0);
      if (bad >= 0) {
        throw new Error(
          `line chart ${chart}: series ${name} has y=${series.points[bad]!.y} at index ${bad}, ` +
            'which a logarithmic y axis cannot show (all values must be > 0)',
        );
      }
    }
  }
  checkChartSize(`line chart ${chart}`, spec);
}

/**
 * The chart.js configuration for a spec: pure, no canvas. Validates the spec
 * first (see validateLineChartSpec).
 */
function xSpan(spec: LineChartSpec): number {
  const xs = spec.series.flatMap((series) => series.points.map((p) => p.x));
  return xs.length ? Math.max(...xs) - Math.min(...xs) : 0;
}

/** Tick options of a linear or logarithmic axis (x or y). */
function yTicks(log: boolean | undefined) {
  return log
    ? // logTickLabel already thins the labels; chart.js's own skipping would drop whole decades.
      { font: chartFont(11), autoSkip: false, callback: (value: number | string, _index: number, ticks: { value: number }[]) => logTickLabel(value, ticks.map((t) => t.value)) }
    : { font: chartFont(11) };
}

export function lineChartConfig(spec: LineChartSpec): LineChartConfig {
  validateLineChartSpec(spec);
  const usesRight = spec.series.some((series) => series.axis === 'right');

  const colorKey = (series: Series): string => series.colorKey ?? series.label;
  const colors = assignColors(spec.series.map(colorKey), spec.colorOrder);
  const datasets = spec.series.map((series) => {
    const color = colors.get(colorKey(series))!;
    const markers = series.points.length <= MARKER_LIMIT;
    return {
      label: series.label,
      data: series.points.map(({ x, y }) => ({ x, y })),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 1.5,
      borderDash: series.dashed ? [6, 4] : [],
      pointRadius: markers ? 2.5 : 0,
      pointHoverRadius: markers ? 2.5 : 0,
      pointBorderWidth: 0,
      tension: 0,
      fill: false,
      yAxisID: series.axis === 'right' ? 'y2' : 'y',
    };
  });

  const scales: NonNullable<NonNullable<LineChartConfig['options']>['scales']> = {
    x: spec.logX
      ? { type: 'logarithmic', position: 'bottom', title: { display: true, text: spec.xLabel, font: chartFont(13) }, ticks: yTicks(true) }
      : {
          type: 'linear',
          position: 'bottom',
          title: { display: true, text: spec.xLabel, font: chartFont(13) },
          // Whole-number ticks; one per unit only while that gives a readable count.
          ticks: spec.integerX ? { font: chartFont(11), precision: 0, ...(xSpan(spec) <= 20 ? { stepSize: 1 } : {}) } : { font: chartFont(11) },
        },
    y: {
      type: spec.logY ? 'logarithmic' : 'linear',
      position: 'left',
      title: { display: true, text: spec.yLabel, font: chartFont(13) },
      ticks: yTicks(spec.logY),
    },
  };
  if (usesRight) {
    scales['y2'] = {
      type: spec.logY2 ? 'logarithmic' : 'linear',
      position: 'right',
      title: { display: spec.y2Label !== undefined, text: spec.y2Label ?? '', font: chartFont(13) },
      ticks: yTicks(spec.logY2),
      grid: { drawOnChartArea: false },
    };
  }

  return {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      devicePixelRatio: 1,
      parsing: false,
      normalized: false,
      layout: { padding: 8 },
      scales,
      plugins: {
        title: { display: true, text: spec.title, font: chartFont(16, 'bold'), padding: { top: 4, bottom: 8 } },
        legend: {
          display: true,
          position: 'top',
          labels: {
            font: chartFont(12),
            color: '#333333',
            usePointStyle: true,
            pointStyle: 'line',
            pointStyleWidth: 36,
            // chart.js takes a point-style legend item's stroke from the first
            // point, which has no dash and, with markers off, no width; draw
            // each item as a short piece of its series' line instead.
            generateLabels: () =>
              datasets.map((dataset, datasetIndex) => ({
                text: dataset.label,
                datasetIndex,
                fillStyle: dataset.borderColor,
                strokeStyle: dataset.borderColor,
                fontColor: '#333333',
                lineWidth: 2,
                lineDash: dataset.borderDash,
                lineCap: 'butt' as const,
                pointStyle: 'line' as const,
                hidden: false,
              })),
          },
        },
        tooltip: { enabled: false },
      },
    },
  };
}

/** Draws the spec and returns the PNG file's bytes (default 900 x 560). */
export async function renderLineChart(spec: LineChartSpec): Promise<Uint8Array> {
  const config = lineChartConfig(spec);
  return renderChart(config, { width: spec.width ?? DEFAULT_WIDTH, height: spec.height ?? DEFAULT_HEIGHT });
}

/** Draws the spec and writes the PNG to `path` atomically (temporary file, then rename). */
export async function writeChart(path: string, spec: LineChartSpec): Promise<void> {
  const png = await renderLineChart(spec);
  writeFileAtomic(path, png);
}
