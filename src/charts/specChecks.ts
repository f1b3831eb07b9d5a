/** Pieces shared by the chart modules: the font spec and the checks every chart spec needs. */
import type { FontSpec } from 'chart.js';
import { CHART_FONT_FAMILY } from './render.ts';

export function chartFont(size: number, weight: FontSpec['weight'] = 'normal'): Partial<FontSpec> {
  return { family: CHART_FONT_FAMILY, size, weight };
}

/** Throws `<where>: series "<label>" has a non-finite point at index i (x=…, y=…)` for the first bad point. */
export function checkFinitePoints(where: string, label: string, points: ReadonlyArray<{ x: number; y: number }>): void {
  points.forEach((point, i) => {
    if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) {
      throw new Error(`${where}: series ${JSON.stringify(label)} has a non-finite point at index ${i} (x=${point.x}, y=${point.y})`);
    }
  });
}

/** Throws `<where>: width must be a positive integer, got …` (or height). */
export function checkChartSize(where: string, size: { width?: number; height?: number }): void {
  for (const [key, value] of [['width', size.width], ['height', size.height]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw new Error(`${where}: ${key} must be a positive integer, got ${value}`);
  }
}
