import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  lineChartConfig,
  logTickLabel,
  renderLineChart,
  writeChart,
  type LineChartSpec,
  type Series,
} from '../../src/charts/lineChart.ts';
import { PALETTE, assignColors, colorFor, hashKey } from '../../src/charts/palette.ts';
import { countNear, decodePng as decode, PNG_SIGNATURE } from '../support/png.ts';

function curve(n: number, f: (x: number) => number): Array<{ x: number; y: number }> {
  return Array.from({ length: n }, (_, i) => ({ x: i + 1, y: f(i + 1) }));
}

function twoSeriesSpec(overrides: Partial<LineChartSpec> = {}): LineChartSpec {
  return {
    title: 'Training loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { label: 'mlp', points: curve(20, (x) => 2 / x) },
      { label: 'cnn', points: curve(20, (x) => 1 / x) },
    ],
    ...overrides,
  };
}

describe('renderLineChart', () => {
  it('returns a PNG of the requested size', async () => {
    const png = await renderLineChart(twoSeriesSpec({ width: 640, height: 400 }));
    assert.ok(png instanceof Uint8Array);
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    const image = await decode(png);
    assert.equal(image.width, 640);
    assert.equal(image.height, 400);
  });

  it('defaults to 900 x 560 on an opaque white background', async () => {
    const image = await decode(await renderLineChart(twoSeriesSpec()));
    assert.equal(image.width, 900);
    assert.equal(image.height, 560);
    // Top-left corner: background, white and opaque.
    assert.deepEqual([...image.data.subarray(0, 4)], [255, 255, 255, 255]);
  });

  it('draws the series: pixels of the series color appear only when it is drawn', async () => {
    const red = PALETTE[2]!;
    assert.equal(red, '#e15759');
    const order = ['a', 'b', 'red-model'];
    const withRed = twoSeriesSpec({
      colorOrder: order,
      series: [
        { label: 'blue one', colorKey: 'a', points: curve(30, (x) => x) },
        { label: 'red one', colorKey: 'red-model', points: curve(30, (x) => 30 - x) },
      ],
    });
    const withoutRed = { ...withRed, series: [withRed.series[0]!] };
    const drawn = countNear((await decode(await renderLineChart(withRed))).data, red);
    const notDrawn = countNear((await decode(await renderLineChart(withoutRed))).data, red);
    assert.equal(notDrawn, 0);
    assert.ok(drawn > 200, `expected many red pixels, found ${drawn}`);
  });

  it('renders a second axis, dashed series, a log axis and many points without failing', async () => {
    const png = await renderLineChart({
      title: 'loss and accuracy',
      xLabel: 'step',
      yLabel: 'loss',
      y2Label: 'accuracy',
      logY: true,
      series: [
        { label: 'train loss', colorKey: 'm', points: curve(500, (x) => 1 / x) },
        { label: 'test accuracy', colorKey: 'm', dashed: true, axis: 'right', points: curve(500, (x) => 1 - 1 / (x + 1)) },
      ],
    });
    const image = await decode(png);
    assert.equal(image.width, 900);
    assert.ok(countNear(image.data, colorFor('m', 0)) > 100);
  });

  it('throws on no series, naming the chart', async () => {
    await assert.rejects(renderLineChart(twoSeriesSpec({ series: [] })), /"Training loss".*no series/);
  });

  it('throws on a non-positive value on a log axis, naming the series', () => {
    const spec = twoSeriesSpec({
      logY: true,
      series: [
        { label: 'fine', points: curve(5, (x) => x) },
        { label: 'zero-loss model', points: [{ x: 1, y: 1 }, { x: 2, y: 0 }] },
      ],
    });
    assert.throws(() => lineChartConfig(spec), /series "zero-loss model" has y=0 at index 1/);
  });

  it('allows non-positive values on the linear right axis of a log chart', () => {
    const spec = twoSeriesSpec({
      logY: true,
      series: [
        { label: 'loss', points: curve(5, (x) => x) },
        { label: 'margin', axis: 'right', points: [{ x: 1, y: -1 }, { x: 2, y: 0 }] },
      ],
    });
    assert.doesNotThrow(() => lineChartConfig(spec));
  });

  it('throws on non-finite values, naming the series', () => {
    const spec = twoSeriesSpec({ series: [{ label: 'diverged', points: [{ x: 1, y: 1 }, { x: 2, y: Number.NaN }] }] });
    assert.throws(() => lineChartConfig(spec), /series "diverged" has a non-finite point at index 1/);
  });

  it('rejects a bad size', () => {
    assert.throws(() => lineChartConfig(twoSeriesSpec({ width: 0 })), /width must be a positive integer/);
  });
});

describe('lineChartConfig', () => {
  it('has one dataset per series, with the labels, on a linear x axis', () => {
    const config = lineChartConfig(twoSeriesSpec());
    assert.equal(config.type, 'line');
    assert.equal(config.data.datasets.length, 2);
    assert.deepEqual(config.data.datasets.map((d) => d.label), ['mlp', 'cnn']);
    assert.deepEqual(config.data.datasets[1]!.data[0], { x: 1, y: 1 });
    const scales = config.options!.scales!;
    assert.equal(scales['x']!.type, 'linear');
    assert.equal(scales['y']!.type, 'linear');
    assert.equal(scales['y2'], undefined);
    assert.equal(config.options!.plugins!.title!.text, 'Training loss');
    assert.equal(config.options!.plugins!.legend!.display, true);
    assert.equal(config.options!.animation, false);
    assert.equal(config.options!.responsive, false);
  });

  it('uses a logarithmic y axis when logY', () => {
    const config = lineChartConfig(twoSeriesSpec({ logY: true }));
    assert.equal(config.options!.scales!['y']!.type, 'logarithmic');
  });

  it('uses a logarithmic x axis when logX, and refuses x <= 0 there', () => {
    const spec = twoSeriesSpec({ logX: true });
    spec.series = spec.series.map((series) => ({ ...series, points: series.points.map((p) => ({ x: p.x + 1, y: p.y })) }));
    assert.equal(lineChartConfig(spec).options!.scales!['x']!.type, 'logarithmic');
    assert.equal(lineChartConfig(twoSeriesSpec()).options!.scales!['x']!.type, 'linear');
    const zero = twoSeriesSpec({ logX: true });
    zero.series[0] = { ...zero.series[0]!, points: [{ x: 0, y: 1 }, ...zero.series[0]!.points] };
    assert.throws(() => lineChartConfig(zero), /logarithmic x axis/);
  });

  it('adds a titled right axis when a series uses it', () => {
    const spec = twoSeriesSpec({ y2Label: 'accuracy' });
    spec.series[1] = { ...spec.series[1]!, axis: 'right' };
    const config = lineChartConfig(spec);
    const y2 = config.options!.scales!['y2'] as { type: string; position: string; title: { display: boolean; text: string } };
    assert.equal(y2.type, 'linear');
    assert.equal(y2.position, 'right');
    assert.deepEqual([y2.title.display, y2.title.text], [true, 'accuracy']);
    assert.deepEqual(config.data.datasets.map((d) => d.yAxisID), ['y', 'y2']);
  });

  it('drops point markers above 50 points and dashes dashed series', () => {
    const config = lineChartConfig({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        { label: 'few', points: curve(50, (x) => x) },
        { label: 'many', dashed: true, points: curve(51, (x) => x) },
      ],
    });
    const [few, many] = config.data.datasets as Array<{ pointRadius: number; borderDash: number[] }>;
    assert.ok(few!.pointRadius > 0);
    assert.equal(many!.pointRadius, 0);
    assert.deepEqual(few!.borderDash, []);
    assert.ok(many!.borderDash.length > 0);
  });

  it('does not change the spec it is given', () => {
    const spec = twoSeriesSpec();
    const copy = structuredClone(spec);
    lineChartConfig(spec);
    assert.deepEqual(spec, copy);
  });
});

describe('colors', () => {
  const colorOf = (spec: LineChartSpec, label: string): unknown =>
    lineChartConfig(spec).data.datasets.find((d) => d.label === label)!.borderColor;

  it('gives the same colorKey the same color in two different charts', () => {
    const lossChart = twoSeriesSpec({
      series: [
        { label: 'linear train loss', colorKey: 'linear', points: curve(5, (x) => x) },
        { label: 'resnet train loss', colorKey: 'resnet', points: curve(5, (x) => x) },
      ],
    });
    const accuracyChart = twoSeriesSpec({
      series: [
        { label: 'transformer test accuracy', colorKey: 'transformer', points: curve(5, (x) => x) },
        { label: 'something else', colorKey: 'other', points: curve(5, (x) => x) },
        { label: 'resnet test accuracy', colorKey: 'resnet', dashed: true, points: curve(5, (x) => x) },
      ],
    });
    const keys = ['linear', 'resnet', 'transformer', 'other'];
    assert.equal(new Set(keys.map((k) => hashKey(k) % PALETTE.length)).size, keys.length, 'test keys must not collide');
    assert.equal(colorOf(lossChart, 'resnet train loss'), colorOf(accuracyChart, 'resnet test accuracy'));
    assert.equal(colorOf(lossChart, 'resnet train loss'), colorFor('resnet', 0));
  });

  it('with a colorOrder, gives the n-th key the n-th color in every chart', () => {
    const order = ['linear', 'mlp', 'cnn'];
    const a = twoSeriesSpec({
      colorOrder: order,
      series: [
        { label: 'cnn', points: curve(3, (x) => x) },
        { label: 'mlp', points: curve(3, (x) => x) },
      ],
    });
    const b = twoSeriesSpec({ colorOrder: order, series: [{ label: 'mlp', points: curve(3, (x) => x) }] });
    assert.equal(colorOf(a, 'cnn'), PALETTE[2]);
    assert.equal(colorOf(a, 'mlp'), PALETTE[1]);
    assert.equal(colorOf(b, 'mlp'), PALETTE[1]);
  });

  it('never gives two keys of one chart the same color while the palette has a free one', () => {
    // "mlp" and "cnn" hash to the same palette slot.
    assert.equal(colorFor('mlp', 0), colorFor('cnn', 1));
    const spec = twoSeriesSpec();
    assert.notEqual(colorOf(spec, 'mlp'), colorOf(spec, 'cnn'));
    const many = Array.from({ length: 10 }, (_, i) => `model-${i}`);
    assert.equal(new Set(assignColors(many).values()).size, 10);
  });

  it('is deterministic and uses the palette', () => {
    assert.equal(colorFor('some model', 0), colorFor('some model', 7));
    assert.ok(PALETTE.includes(colorFor('some model', 0)));
    assert.equal(colorFor('', 3), PALETTE[3]);
    assert.equal(PALETTE.length, 10);
    assert.equal(new Set(PALETTE).size, 10);
  });
});

describe('logTickLabel', () => {
  it('labels 1-2-5 ticks over a wide range and one-digit ticks over a narrow one', () => {
    const wide = [0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.9, 1, 2];
    assert.deepEqual(wide.map((v) => logTickLabel(v, wide)), ['0.01', '', '0.02', '', '0.05', '0.1', '0.2', '', '1', '2']);
    const narrow = [0.29, 0.3, 0.35, 0.4, 0.5, 0.6];
    assert.deepEqual(narrow.map((v) => logTickLabel(v, narrow)), ['', '0.3', '', '0.4', '0.5', '0.6']);
    assert.equal(logTickLabel(2e-5), '2e-5');
  });
});

describe('writeChart', () => {
  it('writes the PNG atomically, leaving no temporary file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hw1-onnx-chart-'));
    try {
      const path = join(folder, 'nested', 'loss.png');
      const series: Series[] = [{ label: 'only', points: curve(3, (x) => x) }];
      await writeChart(path, { title: 't', xLabel: 'x', yLabel: 'y', series });
      assert.deepEqual([...readFileSync(path).subarray(0, 8)], PNG_SIGNATURE);
      assert.deepEqual(readdirSync(join(folder, 'nested')), ['loss.png']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
