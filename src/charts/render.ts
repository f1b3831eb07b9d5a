import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables } from 'chart.js';
import type { ChartConfiguration, ChartItem, ChartType, Plugin } from 'chart.js';

/**
 * Headless chart.js rendering on @napi-rs/canvas.
 *
 * chart.js sees no DOM under Node, so it uses its BasicPlatform: no resize
 * observers, no events, the canvas's own width and height. Every chart is
 * drawn once, synchronously (animation off), encoded as PNG and destroyed.
 */

let registered = false;

/** Registers every chart.js controller, element, scale and plugin, once per process. */
export function ensureChartJsRegistered(): void {
  if (registered) return;
  Chart.register(...registerables);
  registered = true;
}

/** The font every chart uses; DejaVu Sans is the usual font of a bare Linux machine. */
export const CHART_FONT_FAMILY = "'DejaVu Sans', 'Helvetica Neue', Helvetica, Arial, sans-serif";

/** A chart.js plugin that paints the whole canvas in `color` under everything chart.js draws. */
export function backgroundPlugin(color = '#ffffff'): Plugin {
  return {
    id: 'hw1OnnxBackground',
    beforeDraw(chart) {
      const ctx = chart.ctx;
      ctx.save();
      ctx.globalCompositeOperation = 'destination-over';
      ctx.fillStyle = color;
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    },
  };
}

export interface RenderOptions {
  width: number;
  height: number;
  /** The fill under the chart; white unless given. */
  background?: string;
}

/**
 * Draws `config` on a new width x height canvas on a white background and
 * returns the PNG file's bytes. Animation, responsiveness and device-pixel
 * scaling are forced off, so the PNG is exactly width x height pixels.
 */
export async function renderChart<T extends ChartType>(
  config: ChartConfiguration<T>,
  options: RenderOptions,
): Promise<Uint8Array> {
  const { width, height } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`renderChart: width and height must be positive integers, got ${width} x ${height}`);
  }
  ensureChartJsRegistered();
  const canvas = createCanvas(width, height);
  const finalConfig = {
    ...config,
    options: {
      ...config.options,
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      devicePixelRatio: 1,
      events: [],
    },
    plugins: [...(config.plugins ?? []), backgroundPlugin(options.background)],
  } as ChartConfiguration<T>;
  // chart.js takes any object with getContext('2d'); its types only know DOM
  // canvases. With no DOM and animation off, the constructor draws the chart.
  const chart = new Chart(canvas as unknown as ChartItem, finalConfig);
  try {
    // A Buffer is a Uint8Array; `encode` runs off the main thread.
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}
