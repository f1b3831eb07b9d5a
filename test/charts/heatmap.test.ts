import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  HEATMAP_DEFAULT_HEIGHT,
  HEATMAP_DEFAULT_WIDTH,
  MARK_COLOR,
  contourSegments,
  defaultContourLevels,
  heatmapLayout,
  heatmapPixel,
  linearTicks,
  renderHeatmap,
  validateHeatmapSpec,
  viridis,
  writeHeatmap,
  type HeatmapSpec,
} from '../../src/charts/heatmap.ts';
import { decodePng as decode, PNG_SIGNATURE, rgbOf, type DecodedImage as Image } from '../support/png.ts';

function pixelAt(image: Image, px: number, py: number): [number, number, number] {
  const offset = (Math.round(py) * image.width + Math.round(px)) * 4;
  return [image.data[offset]!, image.data[offset + 1]!, image.data[offset + 2]!];
}

function near(rgb: readonly number[], hex: string, tolerance: number): boolean {
  return rgbOf(hex).every((v, k) => Math.abs(v - rgb[k]!) <= tolerance);
}

/** CIE L* (0..100) of an sRGB color. */
function lightness(hex: string): number {
  const linear = rgbOf(hex).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0]! + 0.7152 * linear[1]! + 0.0722 * linear[2]!;
  return luminance > 216 / 24389 ? 116 * Math.cbrt(luminance) - 16 : (24389 / 27) * luminance;
}

function grid(from: number, to: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => from + ((to - from) * k) / (n - 1));
}

/** z = x² + y² on [-1, 1]², one row per y. */
function bowlSpec(overrides: Partial<HeatmapSpec> = {}): HeatmapSpec {
  const x = grid(-1, 1, 31);
  const y = grid(-1, 1, 31);
  return {
    title: 'Bowl',
    xLabel: 'alpha',
    yLabel: 'beta',
    zLabel: 'loss',
    x,
    y,
    z: y.map((b) => x.map((a) => a * a + b * b)),
    ...overrides,
  };
}

describe('viridis', () => {
  it('runs from #440154 at 0 to #fde725 at 1, clamping outside', () => {
    assert.equal(viridis(0), '#440154');
    assert.equal(viridis(1), '#fde725');
    assert.equal(viridis(0.5), '#21918c');
    assert.equal(viridis(-3), '#440154');
    assert.equal(viridis(7), '#fde725');
    assert.match(viridis(0.37), /^#[0-9a-f]{6}$/);
  });

  it('grows strictly lighter from 0 to 1', () => {
    const values = Array.from({ length: 101 }, (_, k) => lightness(viridis(k / 100)));
    for (let k = 1; k < values.length; k++) {
      assert.ok(values[k]! > values[k - 1]!, `L* falls between t=${(k - 1) / 100} and t=${k / 100}: ${values[k - 1]} -> ${values[k]}`);
    }
  });
});

describe('contourSegments', () => {
  const h = 0.1;
  const x = grid(-2, 2, 41);
  const y = grid(-2, 2, 41);
  const z = y.map((b) => x.map((a) => a * a + b * b));

  it('traces z = x² + y² = 1 as short segments on the unit circle, all the way round', () => {
    const segments = contourSegments(x, y, z, 1);
    assert.ok(segments.length >= 40, `expected a closed ring of segments, got ${segments.length}`);
    const octants = new Set<number>();
    for (const s of segments) {
      for (const [px, py] of [[s.x1, s.y1], [s.x2, s.y2]] as const) {
        assert.ok(Math.abs(Math.hypot(px, py) - 1) < h / 2, `endpoint (${px}, ${py}) is off the circle`);
      }
      assert.ok(Math.hypot(s.x2 - s.x1, s.y2 - s.y1) <= h * Math.SQRT2 + 1e-12, 'a segment spans more than one cell');
      octants.add(Math.floor(((Math.atan2(s.y1 + s.y2, s.x1 + s.x2) + Math.PI) / (2 * Math.PI)) * 8) % 8);
    }
    assert.equal(octants.size, 8);
  });

  it('draws a larger level on a larger circle', () => {
    for (const s of contourSegments(x, y, z, 2.25)) assert.ok(Math.abs(Math.hypot(s.x1, s.y1) - 1.5) < h / 2);
  });

  it('returns nothing for a level outside the field', () => {
    assert.deepEqual(contourSegments(x, y, z, -1), []);
    assert.deepEqual(contourSegments(x, y, z, 100), []);
  });

  it('cuts off the corners on the far side of the mean at a saddle', () => {
    // Bottom-left and top-right above the level, mean (0.5) not above it: two corner cuts.
    const segments = contourSegments([0, 1], [0, 1], [[1, 0], [0, 1]], 0.5);
    assert.equal(segments.length, 2);
    const cutCorners = segments.map((s) => [Math.round((s.x1 + s.x2) / 2), Math.round((s.y1 + s.y2) / 2)]);
    assert.deepEqual(cutCorners.sort(), [[0, 0], [1, 1]]);
  });

  it('skips cells with a non-finite corner', () => {
    const holed = z.map((row) => [...row]);
    holed[30]![30] = Number.NaN; // at (1, 1)
    const segments = contourSegments(x, y, holed, 1.96); // the circle of radius 1.4 passes (0.99, 0.99)
    assert.ok(segments.length > 0);
    const inHole = (s: { x1: number; y1: number; x2: number; y2: number }): boolean => {
      const [mx, my] = [(s.x1 + s.x2) / 2, (s.y1 + s.y2) / 2];
      return mx > 0.9 + 1e-9 && mx < 1.1 - 1e-9 && my > 0.9 + 1e-9 && my < 1.1 - 1e-9;
    };
    assert.ok(!segments.some(inHole), 'a segment comes from a cell with a NaN corner');
    assert.ok(contourSegments(x, y, z, 1.96).some(inHole));
    assert.ok(segments.length < contourSegments(x, y, z, 1.96).length);
  });
});

describe('defaultContourLevels and linearTicks', () => {
  it('spaces ten levels evenly strictly inside the range, geometrically with logZ', () => {
    const linear = defaultContourLevels(0, 11);
    assert.deepEqual(linear, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const log = defaultContourLevels(1, 1e11, true);
    log.forEach((level, k) => assert.ok(Math.abs(level / 10 ** (k + 1) - 1) < 1e-9));
    assert.deepEqual(defaultContourLevels(3, 3), []);
  });

  it('picks 1-2-5 ticks inside the range', () => {
    assert.deepEqual(linearTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(linearTicks(0.03, 0.97, 5), [0.2, 0.4, 0.6, 0.8]);
  });
});

describe('heatmapLayout', () => {
  it('puts the plot left of the color bar, both inside the canvas and below the title', () => {
    const layout = heatmapLayout({ title: 't' });
    assert.deepEqual([layout.width, layout.height], [HEATMAP_DEFAULT_WIDTH, HEATMAP_DEFAULT_HEIGHT]);
    const { plot, colorBar } = layout;
    assert.ok(plot.left > 40 && plot.top > 30, 'room for tick labels, axis title and chart title');
    assert.ok(plot.left + plot.width + 10 < colorBar.left);
    assert.ok(colorBar.left + colorBar.width + 40 < layout.width, 'room for the color bar ticks and title');
    assert.ok(plot.top + plot.height + 30 < layout.height, 'room for x ticks and title');
    assert.deepEqual([colorBar.top, colorBar.height], [plot.top, plot.height]);
    for (const v of [plot.left, plot.top, plot.width, plot.height, colorBar.left, colorBar.width]) assert.ok(Number.isInteger(v));
  });

  it('rejects a canvas too small for a plot', () => {
    assert.throws(() => heatmapLayout({ title: 'tiny', width: 120, height: 90 }), /heatmap "tiny": 120 x 90 pixels leave no room/);
  });
});

describe('validateHeatmapSpec', () => {
  it('names what is wrong', () => {
    assert.throws(() => validateHeatmapSpec(bowlSpec({ x: [0, 1, 1] })), /heatmap "Bowl": the x grid must increase strictly, but x\[2\]=1 follows 1/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ y: [0] })), /the y grid needs at least two points/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ z: bowlSpec().z.slice(1) })), /z has 30 rows, but the y grid has 31 points/);
    const ragged = bowlSpec().z.map((row, i) => (i === 4 ? row.slice(1) : row));
    assert.throws(() => validateHeatmapSpec(bowlSpec({ z: ragged })), /z\[4\] has 30 values, but the x grid has 31 points/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ logZ: true })), /z\[15\]\[15\]=0, which logZ cannot show/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ z: bowlSpec().z.map((row) => row.map(() => Number.NaN)) })), /no finite value/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ marks: [{ x: 2, y: 0, label: 'far' }] })), /mark "far" at \(2, 0\) lies outside the grid/);
    assert.throws(() => validateHeatmapSpec(bowlSpec({ contours: [0.5, Number.NaN] })), /contour level 1 is NaN/);
  });

  it('accepts non-finite z values (drawn grey) next to finite ones', () => {
    const z = bowlSpec().z.map((row) => row.map((v) => (v > 1.5 ? Number.POSITIVE_INFINITY : v)));
    assert.doesNotThrow(() => validateHeatmapSpec(bowlSpec({ z })));
  });
});

describe('renderHeatmap', () => {
  it('returns a PNG of the requested size', async () => {
    const png = await renderHeatmap(bowlSpec({ width: 500, height: 400 }));
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    const image = await decode(png);
    assert.deepEqual([image.width, image.height], [500, 400]);
    assert.deepEqual([...image.data.subarray(0, 4)], [255, 255, 255, 255]);
  });

  it('draws the low center of z = x² + y² dark blue and its high corners yellow', async () => {
    const spec = bowlSpec();
    const layout = heatmapLayout(spec);
    const image = await decode(await renderHeatmap(spec));
    const center = heatmapPixel(layout, spec, 0, 0);
    const centerRgb = pixelAt(image, center.px, center.py);
    assert.ok(near(centerRgb, viridis(0), 16), `center ${centerRgb} is not dark blue ${viridis(0)}`);
    const { plot } = layout;
    const inset = 2;
    for (const [px, py] of [
      [plot.left + inset, plot.top + inset],
      [plot.left + plot.width - 1 - inset, plot.top + inset],
      [plot.left + inset, plot.top + plot.height - 1 - inset],
      [plot.left + plot.width - 1 - inset, plot.top + plot.height - 1 - inset],
    ] as const) {
      const rgb = pixelAt(image, px, py);
      assert.ok(near(rgb, viridis(1), 30), `corner (${px}, ${py}) is ${rgb}, not yellow ${viridis(1)}`);
    }
    // The color bar runs from yellow at the top to dark blue at the bottom.
    const barX = layout.colorBar.left + layout.colorBar.width / 2;
    assert.ok(near(pixelAt(image, barX, layout.colorBar.top + 1), viridis(1), 16));
    assert.ok(near(pixelAt(image, barX, layout.colorBar.top + layout.colorBar.height - 2), viridis(0), 16));
  });

  it('draws a contour as a dark line where its level crosses the field', async () => {
    const spec = bowlSpec();
    const layout = heatmapLayout(spec);
    const darkest = (image: Image): number => {
      // z = 0.25 crosses the x axis at x = 0.5; look at the pixels around it.
      const { px, py } = heatmapPixel(layout, spec, 0.5, 0);
      let min = 255 * 3;
      for (let dx = -2; dx <= 2; dx++) min = Math.min(min, pixelAt(image, px + dx, py).reduce((a, b) => a + b, 0));
      return min;
    };
    const without = darkest(await decode(await renderHeatmap({ ...spec, contours: [] })));
    const withLine = darkest(await decode(await renderHeatmap({ ...spec, contours: [0.25] })));
    assert.ok(withLine < without - 30, `contour pixels (sum ${withLine}) are not darker than the field (sum ${without})`);
  });

  it('draws a mark as a white-ringed red dot', async () => {
    const spec = bowlSpec({ logZ: false, marks: [{ x: 0.5, y: -0.25, label: 'minimum' }] });
    const layout = heatmapLayout(spec);
    const { px, py } = heatmapPixel(layout, spec, 0.5, -0.25);
    const marked = await decode(await renderHeatmap(spec));
    const unmarked = await decode(await renderHeatmap({ ...spec, marks: [] }));
    assert.ok(near(pixelAt(marked, px, py), MARK_COLOR, 20), `mark center is ${pixelAt(marked, px, py)}`);
    assert.ok(!near(pixelAt(unmarked, px, py), MARK_COLOR, 60));
    const ring = [pixelAt(marked, px + 5, py), pixelAt(marked, px - 5, py), pixelAt(marked, px, py + 5), pixelAt(marked, px, py - 5)];
    assert.ok(ring.some((rgb) => rgb.every((v) => v > 200)), `no white ring around the mark: ${JSON.stringify(ring)}`);
  });

  it('draws a log-scaled field with grey holes for non-finite values', async () => {
    const z = bowlSpec().z.map((row) => row.map((v) => (v > 1.9 ? Number.NaN : v + 0.01)));
    const spec = bowlSpec({ z, logZ: true });
    const layout = heatmapLayout(spec);
    const image = await decode(await renderHeatmap(spec));
    const corner = pixelAt(image, layout.plot.left + 1, layout.plot.top + 1);
    assert.ok(near(corner, '#bdbdbd', 4), `corner ${corner} should be the no-value grey`);
    const center = heatmapPixel(layout, spec, 0, 0);
    assert.ok(near(pixelAt(image, center.px, center.py), viridis(0), 16));
  });

  it('rejects a bad spec', async () => {
    await assert.rejects(renderHeatmap(bowlSpec({ logZ: true })), /logZ cannot show/);
  });
});

describe('writeHeatmap', () => {
  it('writes the PNG atomically, leaving no temporary file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hw1-onnx-heatmap-'));
    try {
      const path = join(folder, 'nested', 'landscape.png');
      await writeHeatmap(path, bowlSpec({ width: 400, height: 300 }));
      assert.deepEqual([...readFileSync(path).subarray(0, 8)], PNG_SIGNATURE);
      assert.deepEqual(readdirSync(join(folder, 'nested')), ['landscape.png']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
