import { createCanvas } from '@napi-rs/canvas';
import type { SKRSContext2D } from '@napi-rs/canvas';

import { writeFileAtomic } from '../util/atomicWrite.ts';
import { logTickLabel } from './lineChart.ts';
import { CHART_FONT_FAMILY } from './render.ts';
import { assignColors } from './palette.ts';
import { checkChartSize, checkFinitePoints } from './specChecks.ts';

/**
 * A 2-D field drawn as a color map with iso-lines: loss landscapes, where z is
 * the loss at grid point (x[j], y[i]).
 *
 * chart.js has no heatmap, so this file draws on the canvas itself. The pure
 * parts (viridis, contourSegments, defaultContourLevels, heatmapLayout,
 * linearTicks) are exported and tested on their own; renderHeatmap puts them
 * together.
 *
 * Each grid cell is filled by bilinear interpolation of its four corners (in
 * log10 z with logZ), the interpolation marching squares uses along the cell
 * edges, so colors and contour lines agree. Non-finite values (a diverged
 * region of a landscape) are drawn grey and skipped by the contours.
 */

export interface HeatmapMark {
  x: number;
  y: number;
  label: string;
}

export interface HeatmapPath {
  label: string;
  points: Array<{ x: number; y: number }>;
  /** What picks the color; the label unless given (see palette.ts). */
  colorKey?: string;
}

export interface HeatmapSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The title of the color bar. */
  zLabel: string;
  /** Grid positions along x, strictly increasing, at least two. */
  x: number[];
  /** Grid positions along y, strictly increasing, at least two. */
  y: number[];
  /** z[i][j] is the value at (x[j], y[i]): one row per y, one column per x. */
  z: number[][];
  /** Color and contour by log10 z; every finite z must then be > 0. */
  logZ?: boolean;
  /** Contour levels in z units; defaultContourLevels (10 evenly spaced in (log) z) unless given; [] for none. */
  contours?: number[];
  /** Points to mark, for example the trained minimum at (0, 0). */
  marks?: HeatmapMark[];
  /**
   * Polylines drawn over the field (optimization trajectories), each in its
   * palette color with a dot at every point, a ring at its last, and its
   * label in a legend box at the top left of the plot.
   */
  paths?: HeatmapPath[];
  /** Pixels; HEATMAP_DEFAULT_WIDTH unless given. */
  width?: number;
  /** Pixels; HEATMAP_DEFAULT_HEIGHT unless given. */
  height?: number;
}

export const HEATMAP_DEFAULT_WIDTH = 820;
export const HEATMAP_DEFAULT_HEIGHT = 640;
/** The fill of a mark, ringed in white: red, which viridis never shows. */
export const MARK_COLOR = '#e15759';
/** The fill of grid cells with a non-finite corner. */
export const NO_VALUE_COLOR = '#bdbdbd';
export const CONTOUR_COLOR = 'rgba(20, 20, 20, 0.6)';

// ---------------------------------------------------------------------------
// Color map

/**
 * matplotlib's viridis (van der Walt & Smith, CC0) sampled at nine evenly
 * spaced points; perceptually uniform with lightness rising from dark purple
 * to yellow, so the low values of a loss landscape read dark.
 */
const VIRIDIS_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  '#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725',
].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as readonly [number, number, number]);

function viridisRgb(t: number): [number, number, number] {
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const position = clamped * (VIRIDIS_STOPS.length - 1);
  const lower = Math.min(Math.floor(position), VIRIDIS_STOPS.length - 2);
  const f = position - lower;
  const a = VIRIDIS_STOPS[lower]!;
  const b = VIRIDIS_STOPS[lower + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

function toHex(rgb: readonly number[]): string {
  return '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
}

/** The viridis color at t in [0, 1] (clamped) as `#rrggbb`, interpolated linearly between nine stops. */
export function viridis(t: number): string {
  return toHex(viridisRgb(t));
}

// ---------------------------------------------------------------------------
// Contours

/** A piece of an iso-line, in data coordinates. */
export interface ContourSegment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/**
 * The iso-line z = level of a field on a grid, by marching squares: every
 * cell whose corners lie on both sides of the level contributes one segment
 * (two at a saddle) between the points where its edges cross the level,
 * placed by linear interpolation along the edge. A saddle (diagonal corners
 * on the same side) is resolved by the mean of the four corners: the corners
 * on the other side of it from that mean are cut off on their own. Cells with
 * a non-finite corner are skipped. z[i][j] is the value at (x[j], y[i]).
 */
export function contourSegments(x: readonly number[], y: readonly number[], z: readonly (readonly number[])[], level: number): ContourSegment[] {
  const segments: ContourSegment[] = [];
  for (let i = 0; i + 1 < y.length; i++) {
    for (let j = 0; j + 1 < x.length; j++) {
      // Corners counter-clockwise from bottom-left; edge k joins corner k and k+1.
      const cx = [x[j]!, x[j + 1]!, x[j + 1]!, x[j]!];
      const cy = [y[i]!, y[i]!, y[i + 1]!, y[i + 1]!];
      const cz = [z[i]![j]!, z[i]![j + 1]!, z[i + 1]![j + 1]!, z[i + 1]![j]!];
      if (!cz.every(Number.isFinite)) continue;
      const above = cz.map((v) => v > level);
      const crossings: Array<{ x: number; y: number } | undefined> = [0, 1, 2, 3].map((k) => {
        const m = (k + 1) % 4;
        if (above[k] === above[m]) return undefined;
        const t = (level - cz[k]!) / (cz[m]! - cz[k]!);
        return { x: cx[k]! + t * (cx[m]! - cx[k]!), y: cy[k]! + t * (cy[m]! - cy[k]!) };
      });
      const crossed = crossings.filter((c) => c !== undefined);
      const segment = (p: { x: number; y: number }, q: { x: number; y: number }): ContourSegment => ({ x1: p.x, y1: p.y, x2: q.x, y2: q.y });
      if (crossed.length === 2) {
        segments.push(segment(crossed[0]!, crossed[1]!));
      } else if (crossed.length === 4) {
        const centerAbove = (cz[0]! + cz[1]! + cz[2]! + cz[3]!) / 4 > level;
        for (let k = 0; k < 4; k++) {
          // Corner k lies between edge k-1 (arriving) and edge k (leaving).
          if (above[k] !== centerAbove) segments.push(segment(crossings[(k + 3) % 4]!, crossings[k]!));
        }
      }
    }
  }
  return segments;
}

/**
 * `count` levels evenly spaced strictly inside (zMin, zMax), in log10 z when
 * `logZ` (zMin must then be > 0): the k-th is zMin + (zMax - zMin) k / (count + 1).
 */
export function defaultContourLevels(zMin: number, zMax: number, logZ = false, count = 10): number[] {
  if (!(zMax > zMin)) return [];
  const [lo, hi] = logZ ? [Math.log10(zMin), Math.log10(zMax)] : [zMin, zMax];
  return Array.from({ length: count }, (_, k) => {
    const v = lo + ((hi - lo) * (k + 1)) / (count + 1);
    return logZ ? 10 ** v : v;
  });
}

// ---------------------------------------------------------------------------
// Ticks

/** Tick values at 1, 2 or 5 times a power of ten inside [min, max], about `approxCount` of them. */
export function linearTicks(min: number, max: number, approxCount = 6): number[] {
  if (!(max > min) || !Number.isFinite(max - min)) return Number.isFinite(min) ? [min] : [];
  const rough = (max - min) / Math.max(1, approxCount);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough * 0.999)!;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    const v = k * step;
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

function linearTickLabel(v: number, ticks: readonly number[]): string {
  if (v === 0) return '0';
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(v);
  const largest = Math.max(...ticks.map(Math.abs));
  if (largest >= 1e5 || largest < 1e-3) return Number(v.toPrecision(3)).toExponential();
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Ticks of a logarithmic color bar over [lo, hi] in log10 units: decades, or 1-2-5 values, or linear ones for a narrow range. */
function logTicks(lo: number, hi: number): number[] {
  const inside = (v: number): boolean => Math.log10(v) >= lo - 1e-9 && Math.log10(v) <= hi + 1e-9;
  for (const multiples of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of multiples) if (inside(m * 10 ** e)) ticks.push(Number((m * 10 ** e).toPrecision(6)));
    }
    if (ticks.length >= 3) return ticks;
  }
  return linearTicks(10 ** lo, 10 ** hi, 4).filter((v) => v > 0);
}

// ---------------------------------------------------------------------------
// Layout

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  /** Where the field is drawn; x[0] at its left edge, y[0] at its bottom. */
  plot: Rect;
  /** The color bar; the lowest value at its bottom. */
  colorBar: Rect;
}

const PADDING = 8;
const TITLE_HEIGHT = 34;
const AXIS_TITLE_SIZE = 18;
const Y_TICK_LABEL_WIDTH = 56;
const X_TICK_LABEL_HEIGHT = 20;
const TICK_LENGTH = 5;
const COLOR_BAR_GAP = 22;
const COLOR_BAR_WIDTH = 18;
const COLOR_BAR_LABEL_WIDTH = 58;

/** Where the plot and the color bar go on a canvas of the spec's size: pure, integer pixels. */
export function heatmapLayout(spec: Pick<HeatmapSpec, 'title' | 'width' | 'height'>): HeatmapLayout {
  const width = spec.width ?? HEATMAP_DEFAULT_WIDTH;
  const height = spec.height ?? HEATMAP_DEFAULT_HEIGHT;
  const top = PADDING + TITLE_HEIGHT;
  const bottom = height - (PADDING + AXIS_TITLE_SIZE + 6 + X_TICK_LABEL_HEIGHT + TICK_LENGTH);
  const left = PADDING + AXIS_TITLE_SIZE + 6 + Y_TICK_LABEL_WIDTH + TICK_LENGTH;
  const barLeft = width - (PADDING + AXIS_TITLE_SIZE + 4 + COLOR_BAR_LABEL_WIDTH + TICK_LENGTH + COLOR_BAR_WIDTH);
  const right = barLeft - COLOR_BAR_GAP;
  if (right - left < 20 || bottom - top < 20) {
    throw new Error(`heatmap ${JSON.stringify(spec.title)}: ${width} x ${height} pixels leave no room for the plot (try at least 300 x 200)`);
  }
  return {
    width,
    height,
    plot: { left, top, width: right - left, height: bottom - top },
    colorBar: { left: barLeft, top, width: COLOR_BAR_WIDTH, height: bottom - top },
  };
}

/** The pixel of data point (x, y) in a layout for the spec's grid (x[0] left, y[0] bottom). */
export function heatmapPixel(layout: HeatmapLayout, spec: Pick<HeatmapSpec, 'x' | 'y'>, x: number, y: number): { px: number; py: number } {
  const { plot } = layout;
  const [x0, xN] = [spec.x[0]!, spec.x[spec.x.length - 1]!];
  const [y0, yN] = [spec.y[0]!, spec.y[spec.y.length - 1]!];
  return {
    px: plot.left + ((x - x0) / (xN - x0)) * plot.width,
    py: plot.top + plot.height - ((y - y0) / (yN - y0)) * plot.height,
  };
}

// ---------------------------------------------------------------------------
// Validation

/**
 * Checks a spec and throws an Error naming the heatmap and what is wrong: a
 * grid axis that is short, non-finite or not strictly increasing, a z whose
 * shape does not match the grid, no finite z at all, a z <= 0 or a contour
 * level <= 0 with logZ, a mark outside the grid, or a bad size.
 */
export function validateHeatmapSpec(spec: HeatmapSpec): void {
  const chart = `heatmap ${JSON.stringify(spec.title)}`;
  for (const [name, grid] of [['x', spec.x], ['y', spec.y]] as const) {
    if (!Array.isArray(grid) || grid.length < 2) throw new Error(`${chart}: the ${name} grid needs at least two points, got ${grid?.length ?? 0}`);
    grid.forEach((v, k) => {
      if (!Number.isFinite(v)) throw new Error(`${chart}: ${name}[${k}] is ${v}; grid positions must be finite`);
      if (k > 0 && !(v > grid[k - 1]!)) throw new Error(`${chart}: the ${name} grid must increase strictly, but ${name}[${k}]=${v} follows ${grid[k - 1]}`);
    });
  }
  if (!Array.isArray(spec.z) || spec.z.length !== spec.y.length) {
    throw new Error(`${chart}: z has ${spec.z?.length ?? 0} rows, but the y grid has ${spec.y.length} points (z[i][j] is the value at x[j], y[i])`);
  }
  let finite = 0;
  spec.z.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== spec.x.length) {
      throw new Error(`${chart}: z[${i}] has ${row?.length ?? 0} values, but the x grid has ${spec.x.length} points`);
    }
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      finite++;
      if (spec.logZ && v <= 0) throw new Error(`${chart}: z[${i}][${j}]=${v}, which logZ cannot show (finite values must be > 0)`);
    });
  });
  if (finite === 0) throw new Error(`${chart}: z has no finite value to draw`);
  (spec.contours ?? []).forEach((level, k) => {
    if (!Number.isFinite(level) || (spec.logZ && level <= 0)) {
      throw new Error(`${chart}: contour level ${k} is ${level}; levels must be finite${spec.logZ ? ' and > 0 with logZ' : ''}`);
    }
  });
  const [x0, xN, y0, yN] = [spec.x[0]!, spec.x[spec.x.length - 1]!, spec.y[0]!, spec.y[spec.y.length - 1]!];
  for (const path of spec.paths ?? []) {
    checkFinitePoints(chart, path.label, path.points);
    if (path.points.length === 0) throw new Error(`${chart}: path ${JSON.stringify(path.label)} has no points`);
  }
  for (const mark of spec.marks ?? []) {
    if (!(mark.x >= x0 && mark.x <= xN && mark.y >= y0 && mark.y <= yN)) {
      throw new Error(`${chart}: mark ${JSON.stringify(mark.label)} at (${mark.x}, ${mark.y}) lies outside the grid [${x0}, ${xN}] x [${y0}, ${yN}]`);
    }
  }
  checkChartSize(chart, spec);
}

// ---------------------------------------------------------------------------
// Drawing

function fontOf(size: number, weight: 'normal' | 'bold' = 'normal'): string {
  return `${weight} ${size}px ${CHART_FONT_FAMILY}`;
}

/** The cell of a strictly increasing grid holding v, and v's fraction along it. */
function cellOf(grid: readonly number[], v: number): { index: number; fraction: number } {
  let lo = 0;
  let hi = grid.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (grid[mid]! <= v) lo = mid;
    else hi = mid - 1;
  }
  const fraction = (v - grid[lo]!) / (grid[lo + 1]! - grid[lo]!);
  return { index: lo, fraction: Math.min(1, Math.max(0, fraction)) };
}

const LUT_SIZE = 256;
const VIRIDIS_LUT = Array.from({ length: LUT_SIZE }, (_, k) => viridisRgb(k / (LUT_SIZE - 1)));
const NO_VALUE_RGB = [1, 3, 5].map((i) => parseInt(NO_VALUE_COLOR.slice(i, i + 2), 16));

function lutColor(t: number): readonly number[] {
  return VIRIDIS_LUT[Math.round(Math.min(1, Math.max(0, t)) * (LUT_SIZE - 1))]!;
}

function drawField(ctx: SKRSContext2D, spec: HeatmapSpec, plot: Rect, field: readonly (readonly number[])[], toT: (v: number) => number): void {
  const image = ctx.createImageData(plot.width, plot.height);
  const [x0, xN] = [spec.x[0]!, spec.x[spec.x.length - 1]!];
  const [y0, yN] = [spec.y[0]!, spec.y[spec.y.length - 1]!];
  const columns = Array.from({ length: plot.width }, (_, c) => cellOf(spec.x, x0 + ((c + 0.5) / plot.width) * (xN - x0)));
  for (let r = 0; r < plot.height; r++) {
    const { index: i, fraction: fy } = cellOf(spec.y, yN - ((r + 0.5) / plot.height) * (yN - y0));
    const below = field[i]!;
    const above = field[i + 1]!;
    for (let c = 0; c < plot.width; c++) {
      const { index: j, fraction: fx } = columns[c]!;
      const v =
        (1 - fy) * ((1 - fx) * below[j]! + fx * below[j + 1]!) + fy * ((1 - fx) * above[j]! + fx * above[j + 1]!);
      const rgb = Number.isFinite(v) ? lutColor(toT(v)) : NO_VALUE_RGB;
      const offset = (r * plot.width + c) * 4;
      image.data[offset] = rgb[0]!;
      image.data[offset + 1] = rgb[1]!;
      image.data[offset + 2] = rgb[2]!;
      image.data[offset + 3] = 255;
    }
  }
  ctx.putImageData(image, plot.left, plot.top);
}

function drawRotatedText(ctx: SKRSContext2D, text: string, x: number, y: number, angle: number): void {
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(angle);
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

/** Draws the spec on a new canvas and returns the PNG file's bytes (default 820 x 640). */
export async function renderHeatmap(spec: HeatmapSpec): Promise<Uint8Array> {
  validateHeatmapSpec(spec);
  const layout = heatmapLayout(spec);
  const { plot, colorBar } = layout;
  const canvas = createCanvas(layout.width, layout.height);
  const ctx = canvas.getContext('2d');
  // chart.js's colors, so that heatmaps sit well beside the line and scatter charts.
  const ink = '#666666';
  const frame = '#333333';

  // The color scale works in log10 z with logZ; `field` is z in that scale.
  const transform = spec.logZ ? (v: number) => (Number.isFinite(v) && v > 0 ? Math.log10(v) : Number.NaN) : (v: number) => v;
  const field = spec.z.map((row) => row.map(transform));
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const row of field) {
    for (const v of row) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1]; // a flat field shows the middle color
  const toT = (v: number): number => (v - lo) / (hi - lo);
  const levels = spec.contours ?? defaultContourLevels(spec.logZ ? 10 ** lo : lo, spec.logZ ? 10 ** hi : hi, spec.logZ);

  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, layout.width, layout.height);

  ctx.fillStyle = ink;
  ctx.font = fontOf(16, 'bold');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(spec.title, layout.width / 2, PADDING + 4);

  drawField(ctx, spec, plot, field, toT);

  const pixel = (x: number, y: number): { px: number; py: number } => heatmapPixel(layout, spec, x, y);
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top, plot.width, plot.height);
  ctx.clip();
  ctx.strokeStyle = CONTOUR_COLOR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const level of levels) {
    for (const s of contourSegments(spec.x, spec.y, field, transform(level))) {
      const a = pixel(s.x1, s.y1);
      const b = pixel(s.x2, s.y2);
      ctx.moveTo(a.px, a.py);
      ctx.lineTo(b.px, b.py);
    }
  }
  ctx.stroke();
  drawPaths(ctx, spec.paths ?? [], pixel, plot);
  ctx.restore();

  ctx.strokeStyle = frame;
  ctx.lineWidth = 1;
  ctx.strokeRect(plot.left - 0.5, plot.top - 0.5, plot.width + 1, plot.height + 1);

  // Axes: ticks outside the plot, labels, titles.
  ctx.fillStyle = ink;
  ctx.font = fontOf(11);
  const xTicks = linearTicks(spec.x[0]!, spec.x[spec.x.length - 1]!, Math.max(2, Math.round(plot.width / 90)));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.beginPath();
  for (const v of xTicks) {
    const px = Math.round(pixel(v, spec.y[0]!).px) + 0.5;
    ctx.moveTo(px, plot.top + plot.height);
    ctx.lineTo(px, plot.top + plot.height + TICK_LENGTH);
    ctx.fillText(linearTickLabel(v, xTicks), px, plot.top + plot.height + TICK_LENGTH + 3);
  }
  const yTicks = linearTicks(spec.y[0]!, spec.y[spec.y.length - 1]!, Math.max(2, Math.round(plot.height / 70)));
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const v of yTicks) {
    const py = Math.round(pixel(spec.x[0]!, v).py) + 0.5;
    ctx.moveTo(plot.left - TICK_LENGTH, py);
    ctx.lineTo(plot.left, py);
    ctx.fillText(linearTickLabel(v, yTicks), plot.left - TICK_LENGTH - 3, py);
  }
  ctx.stroke();
  ctx.font = fontOf(13);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(spec.xLabel, plot.left + plot.width / 2, layout.height - PADDING);
  ctx.textBaseline = 'top';
  drawRotatedText(ctx, spec.yLabel, PADDING, plot.top + plot.height / 2, -Math.PI / 2);

  // Color bar: the color scale bottom to top, contour levels as thin lines across it, ticks on the right.
  for (let r = 0; r < colorBar.height; r++) {
    const rgb = lutColor(1 - (r + 0.5) / colorBar.height);
    ctx.fillStyle = toHex(rgb);
    ctx.fillRect(colorBar.left, colorBar.top + r, colorBar.width, 1);
  }
  const barY = (v: number): number => colorBar.top + colorBar.height - toT(v) * colorBar.height;
  ctx.strokeStyle = CONTOUR_COLOR;
  ctx.beginPath();
  for (const level of levels) {
    const t = toT(transform(level));
    if (!(t >= 0 && t <= 1)) continue;
    const py = Math.round(barY(transform(level))) + 0.5;
    ctx.moveTo(colorBar.left, py);
    ctx.lineTo(colorBar.left + colorBar.width, py);
  }
  ctx.stroke();
  ctx.strokeStyle = frame;
  ctx.strokeRect(colorBar.left - 0.5, colorBar.top - 0.5, colorBar.width + 1, colorBar.height + 1);
  const zTicks = spec.logZ ? logTicks(lo, hi) : linearTicks(lo, hi, 6);
  const barRight = colorBar.left + colorBar.width;
  ctx.fillStyle = ink;
  ctx.font = fontOf(11);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.beginPath();
  for (const v of zTicks) {
    const py = Math.round(barY(transform(v))) + 0.5;
    ctx.moveTo(barRight, py);
    ctx.lineTo(barRight + TICK_LENGTH, py);
    ctx.fillText(spec.logZ ? logTickLabel(v) : linearTickLabel(v, zTicks), barRight + TICK_LENGTH + 3, py);
  }
  ctx.stroke();
  ctx.font = fontOf(13);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  drawRotatedText(ctx, spec.zLabel, layout.width - PADDING, colorBar.top + colorBar.height / 2, -Math.PI / 2);

  // Marks: a red dot ringed in white, the label beside it with a white halo.
  ctx.font = fontOf(12, 'bold');
  ctx.textBaseline = 'middle';
  for (const mark of spec.marks ?? []) {
    const { px, py } = pixel(mark.x, mark.y);
    ctx.beginPath();
    ctx.arc(px, py, 5, 0, 2 * Math.PI);
    ctx.fillStyle = MARK_COLOR;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.stroke();
    if (mark.label === '') continue;
    const fitsRight = px + 10 + ctx.measureText(mark.label).width <= plot.left + plot.width;
    ctx.textAlign = fitsRight ? 'left' : 'right';
    const tx = fitsRight ? px + 10 : px - 10;
    ctx.lineWidth = 3;
    ctx.lineJoin = 'round';
    ctx.strokeText(mark.label, tx, py);
    ctx.fillStyle = '#111111';
    ctx.fillText(mark.label, tx, py);
  }

  return await canvas.encode('png');
}

/** Trajectories over the field (clipped to the plot), and a legend of their colors. */
function drawPaths(
  ctx: SKRSContext2D,
  paths: readonly HeatmapPath[],
  pixel: (x: number, y: number) => { px: number; py: number },
  plot: Rect,
): void {
  if (paths.length === 0) return;
  const colors = assignColors(paths.map((path) => path.colorKey ?? path.label));
  for (const path of paths) {
    const color = colors.get(path.colorKey ?? path.label)!;
    const pixels = path.points.map((p) => pixel(p.x, p.y));
    // A white casing under the colored line keeps it readable on any part of the color scale.
    for (const [style, width] of [['#ffffff', 3.5], [color, 1.75]] as const) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      pixels.forEach(({ px, py }, i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
      ctx.stroke();
    }
    ctx.fillStyle = color;
    for (const { px, py } of pixels) {
      ctx.beginPath();
      ctx.arc(px, py, 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    const end = pixels.at(-1)!;
    ctx.beginPath();
    ctx.arc(end.px, end.py, 5, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.stroke();
  }
  ctx.font = fontOf(11);
  const lineHeight = 15;
  const boxWidth = Math.max(...paths.map((path) => ctx.measureText(path.label).width)) + 34;
  const boxHeight = paths.length * lineHeight + 8;
  // The legend goes in the plot corner that covers the fewest path points.
  const corners = [
    { left: plot.left + 6, top: plot.top + 6 },
    { left: plot.left + plot.width - boxWidth - 6, top: plot.top + 6 },
    { left: plot.left + 6, top: plot.top + plot.height - boxHeight - 6 },
    { left: plot.left + plot.width - boxWidth - 6, top: plot.top + plot.height - boxHeight - 6 },
  ];
  const covered = (c: { left: number; top: number }) =>
    paths.reduce((n, path) => n + path.points.filter((p) => {
      const { px, py } = pixel(p.x, p.y);
      return px >= c.left - 8 && px <= c.left + boxWidth + 8 && py >= c.top - 8 && py <= c.top + boxHeight + 8;
    }).length, 0);
  const box = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
  ctx.fillRect(box.left, box.top, boxWidth, boxHeight);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  paths.forEach((path, i) => {
    const y = box.top + 4 + lineHeight * (i + 0.5);
    ctx.strokeStyle = colors.get(path.colorKey ?? path.label)!;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(box.left + 6, y);
    ctx.lineTo(box.left + 24, y);
    ctx.stroke();
    ctx.fillStyle = '#111111';
    ctx.fillText(path.label, box.left + 28, y);
  });
}

/** Draws the spec and writes the PNG to `path` atomically (temporary file, then rename). */
export async function writeHeatmap(path: string, spec: HeatmapSpec): Promise<void> {
  const png = await renderHeatmap(spec);
  writeFileAtomic(path, png);
}
