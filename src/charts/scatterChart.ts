import type { Chart, ChartConfiguration, Plugin } from 'chart.js';

import { writeFileAtomic } from '../util/atomicWrite.ts';
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, logTickLabel } from './lineChart.ts';
import { assignColors } from './palette.ts';
import { CHART_FONT_FAMILY, renderChart } from './render.ts';
import { chartFont, checkChartSize, checkFinitePoints } from './specChecks.ts';

/** One point of a scatter series; `text` is drawn beside it when the chart asks for point texts. */
export interface ScatterPoint {
  x: number;
  y: number;
  text?: string;
}

/** One group of points with one color, for example one training run in a PCA plot. */
export interface ScatterSeries {
  label: string;
  points: ScatterPoint[];
  /** What picks the color; the label unless given (see palette.ts). */
  colorKey?: string;
  /** Pixels; DEFAULT_POINT_RADIUS unless given. */
  pointRadius?: number;
  /** Join the points with a line in their order (a trajectory). */
  joined?: boolean;
  /** The marker's shape (chart.js point styles); a circle unless given. */
  pointStyle?: 'circle' | 'triangle' | 'rect' | 'rectRot' | 'crossRot' | 'star';
}

export interface ScatterChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ScatterSeries[];
  /** A logarithmic x axis; every x must be > 0. */
  logX?: boolean;
  /** A logarithmic y axis; every y must be > 0. */
  logY?: boolean;
  /** Pixels; 900 unless given. */
  width?: number;
  /** Pixels; 560 unless given. */
  height?: number;
  /** Every color key of the report, in a fixed order; see LineChartSpec.colorOrder. */
  colorOrder?: readonly string[];
  /** Draw each point's `text` next to it, in its series' color. */
  showPointText?: boolean;
}

export const DEFAULT_POINT_RADIUS = 3.5;
/** The font size of point texts, in pixels. */
export const POINT_TEXT_SIZE = 10;

export type ScatterChartConfig = ChartConfiguration<'scatter', ScatterPoint[]>;

/**
 * Checks a spec and throws an Error that names the chart and the series at
 * fault: no series at all, a non-finite x or y, a value <= 0 on a logarithmic
 * axis, a bad point radius or a bad size.
 */
export function validateScatterChartSpec(spec: ScatterChartSpec): void {
  const chart = JSON.stringify(spec.title);
  if (!Array.isArray(spec.series) || spec.series.length === 0) {
    throw new Error(`scatter chart ${chart}: no series to draw`);
  }
  for (const series of spec.series) {
    const name = JSON.stringify(series.label);
    checkFinitePoints(`scatter chart ${chart}`, series.label, series.points);
    series.points.forEach((point, i) => {
      for (const [axis, isLog, value] of [['x', spec.logX, point.x], ['y', spec.logY, point.y]] as const) {
        if (isLog && value <= 0) {
          throw new Error(
            `scatter chart ${chart}: series ${name} has ${axis}=${value} at index ${i}, ` +
              `which a logarithmic ${axis} axis cannot show (all values must be > 0)`,
          );
        }
      }
    });
    if (series.pointRadius !== undefined && !(series.pointRadius >= 0 && Number.isFinite(series.pointRadius))) {
      throw new Error(`scatter chart ${chart}: series ${name} has pointRadius ${series.pointRadius}; give a finite number >= 0`);
    }
  }
  checkChartSize(`scatter chart ${chart}`, spec);
}

/**
 * A chart.js plugin that writes each point's `text` to the right of its marker
 * (to the left where it would run past the plot area), in the dataset's color.
 * It reads the texts from the chart's data, so it needs no spec.
 */
export function pointTextPlugin(): Plugin<'scatter'> {
  return {
    id: 'hw1OnnxPointText',
    afterDatasetsDraw(chart: Chart<'scatter'>) {
      const ctx = chart.ctx;
      const area = chart.chartArea;
      ctx.save();
      ctx.font = `${POINT_TEXT_SIZE}px ${CHART_FONT_FAMILY}`;
      ctx.textBaseline = 'middle';
      chart.data.datasets.forEach((dataset, datasetIndex) => {
        const meta = chart.getDatasetMeta(datasetIndex);
        if (meta.hidden) return;
        ctx.fillStyle = String(dataset.borderColor ?? '#333333');
        const radius = typeof dataset.pointRadius === 'number' ? dataset.pointRadius : DEFAULT_POINT_RADIUS;
        const gap = radius + 3;
        (dataset.data as ScatterPoint[]).forEach((point, i) => {
          const element = meta.data[i];
          if (point.text === undefined || point.text === '' || element === undefined) return;
          const { x, y } = element.getProps(['x', 'y'], true) as { x: number; y: number };
          const fitsRight = x + gap + ctx.measureText(point.text).width <= area.right;
          ctx.textAlign = fitsRight ? 'left' : 'right';
          ctx.fillText(point.text, fitsRight ? x + gap : x - gap, y);
        });
      });
      ctx.restore();
    },
  };
}

function axisTicks(isLog: boolean | undefined) {
  return isLog
    ? { font: chartFont(11), callback: (value: number | string, _index: number, ticks: Array<{ value: number }>) => logTickLabel(value, ticks.map((t) => t.value)) }
    : { font: chartFont(11) };
}

/** Room beyond the outermost points on a linear axis, so that no marker sits cut in half on the border. */
const LINEAR_GRACE = '5%';

/**
 * The chart.js configuration for a spec: pure, no canvas. Validates the spec
 * first (see validateScatterChartSpec).
 */
export function scatterChartConfig(spec: ScatterChartSpec): ScatterChartConfig {
  validateScatterChartSpec(spec);
  const colorKey = (series: ScatterSeries): string => series.colorKey ?? series.label;
  const colors = assignColors(spec.series.map(colorKey), spec.colorOrder);
  const datasets = spec.series.map((series) => {
    const color = colors.get(colorKey(series))!;
    const radius = series.pointRadius ?? DEFAULT_POINT_RADIUS;
    return {
      label: series.label,
      data: series.points.map((point) => (point.text === undefined ? { x: point.x, y: point.y } : { ...point })),
      borderColor: color,
      backgroundColor: color,
      pointRadius: radius,
      pointHoverRadius: radius,
      pointStyle: series.pointStyle ?? 'circle',
      pointBorderWidth: 0,
      showLine: series.joined === true,
      borderWidth: 1.25,
    };
  });

  return {
    type: 'scatter',
    data: { datasets },
    plugins: spec.showPointText ? [pointTextPlugin()] : [],
    options: {
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      devicePixelRatio: 1,
      // Parsing stays on: with `parsing: false` chart.js takes the data as
      // sorted by x and reads the x range from the first and last point only.
      layout: { padding: 8 },
      scales: {
        x: {
          type: spec.logX ? 'logarithmic' : 'linear',
          position: 'bottom',
          ...(spec.logX ? {} : { grace: LINEAR_GRACE }),
          title: { display: true, text: spec.xLabel, font: chartFont(13) },
          ticks: axisTicks(spec.logX),
        },
        y: {
          type: spec.logY ? 'logarithmic' : 'linear',
          position: 'left',
          ...(spec.logY ? {} : { grace: LINEAR_GRACE }),
          title: { display: true, text: spec.yLabel, font: chartFont(13) },
          ticks: axisTicks(spec.logY),
        },
      },
      plugins: {
        title: { display: true, text: spec.title, font: chartFont(16, 'bold'), padding: { top: 4, bottom: 8 } },
        legend: {
          display: true,
          position: 'top',
          labels: { font: chartFont(12), color: '#333333', usePointStyle: true, pointStyle: 'circle', boxWidth: 8, boxHeight: 8 },
        },
        tooltip: { enabled: false },
      },
    },
  };
}

/** Draws the spec and returns the PNG file's bytes (default 900 x 560). */
export async function renderScatterChart(spec: ScatterChartSpec): Promise<Uint8Array> {
  const config = scatterChartConfig(spec);
  return renderChart(config, { width: spec.width ?? DEFAULT_WIDTH, height: spec.height ?? DEFAULT_HEIGHT });
}

/** Draws the spec and writes the PNG to `path` atomically (temporary file, then rename). */
export async function writeScatterChart(path: string, spec: ScatterChartSpec): Promise<void> {
  const png = await renderScatterChart(spec);
  writeFileAtomic(path, png);
}
