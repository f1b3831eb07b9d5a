import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { lineChartConfig } from '../../src/charts/lineChart.ts';
import { PALETTE, colorFor } from '../../src/charts/palette.ts';
import {
  DEFAULT_POINT_RADIUS,
  renderScatterChart,
  scatterChartConfig,
  writeScatterChart,
  type ScatterChartSpec,
  type ScatterPoint,
} from '../../src/charts/scatterChart.ts';
import { countNear, decodePng as decode, PNG_SIGNATURE } from '../support/png.ts';

const RED = PALETTE[2]!;

/** A short PCA-like trajectory whose even points carry an epoch label. */
function trajectory(offset: number): ScatterPoint[] {
  return Array.from({ length: 6 }, (_, e) => ({
    x: offset + Math.cos(e) * (6 - e),
    y: Math.sin(e) * (6 - e),
    ...(e % 2 === 0 ? { text: `epoch ${e}` } : {}),
  }));
}

function runsSpec(overrides: Partial<ScatterChartSpec> = {}): ScatterChartSpec {
  return {
    title: 'Trajectories in PCA space',
    xLabel: 'PC 1',
    yLabel: 'PC 2',
    series: [
      { label: 'run a', points: trajectory(0) },
      { label: 'run b', points: trajectory(3) },
    ],
    ...overrides,
  };
}

describe('renderScatterChart', () => {
  it('returns a PNG of the requested size on a white background', async () => {
    const png = await renderScatterChart(runsSpec({ width: 640, height: 420, showPointText: true }));
    assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE);
    const image = await decode(png);
    assert.deepEqual([image.width, image.height], [640, 420]);
    assert.deepEqual([...image.data.subarray(0, 4)], [255, 255, 255, 255]);
  });

  it('defaults to 900 x 560', async () => {
    const image = await decode(await renderScatterChart(runsSpec()));
    assert.deepEqual([image.width, image.height], [900, 560]);
  });

  it('draws point texts in the series color only when showPointText', async () => {
    const spec = runsSpec({ colorOrder: ['x', 'y', 'red run'], series: [{ label: 'red run', points: trajectory(0) }] });
    const plain = countNear((await decode(await renderScatterChart(spec))).data, RED);
    const withText = countNear((await decode(await renderScatterChart({ ...spec, showPointText: true }))).data, RED);
    assert.ok(plain > 50, `expected red markers, found ${plain} red pixels`);
    assert.ok(withText > plain + 30, `expected red text pixels too: ${withText} with text, ${plain} without`);
  });

  it('draws unsorted points like sorted ones (the x range covers every point)', async () => {
    const order = ['a', 'b', 'red'];
    const unsorted = [{ x: 5, y: 5 }, { x: -5, y: -5 }, { x: 0, y: 1 }];
    const sorted = [unsorted[1]!, unsorted[2]!, unsorted[0]!];
    const count = async (points: ScatterPoint[]): Promise<number> =>
      countNear((await decode(await renderScatterChart(runsSpec({ colorOrder: order, series: [{ label: 'red', points }] })))).data, RED);
    assert.equal(await count(unsorted), await count(sorted));
  });

  it('rejects a bad spec before drawing, naming the chart', async () => {
    await assert.rejects(renderScatterChart(runsSpec({ series: [] })), /scatter chart "Trajectories in PCA space": no series/);
  });
});

describe('scatterChartConfig', () => {
  it('has one scatter dataset per series, in its own color, with linear axes and titles', () => {
    const config = scatterChartConfig(runsSpec());
    assert.equal(config.type, 'scatter');
    assert.deepEqual(config.data.datasets.map((d) => d.label), ['run a', 'run b']);
    const [a, b] = config.data.datasets;
    assert.notEqual(a!.backgroundColor, b!.backgroundColor);
    assert.equal(a!.backgroundColor, a!.borderColor);
    assert.ok(PALETTE.includes(String(a!.backgroundColor)));
    assert.equal(a!.pointRadius, DEFAULT_POINT_RADIUS);
    assert.equal(a!.data.length, 6);
    const scales = config.options!.scales!;
    assert.equal(scales['x']!.type, 'linear');
    assert.equal(scales['y']!.type, 'linear');
    assert.equal((scales['x'] as { title: { text: string } }).title.text, 'PC 1');
    assert.equal((scales['y'] as { title: { text: string } }).title.text, 'PC 2');
    assert.equal(config.options!.plugins!.title!.text, 'Trajectories in PCA space');
    assert.equal(config.options!.plugins!.legend!.display, true);
  });

  it('keeps the texts in the data and adds the text plugin only when showPointText', () => {
    const withText = scatterChartConfig(runsSpec({ showPointText: true }));
    assert.equal(withText.data.datasets[0]!.data[0]!.text, 'epoch 0');
    assert.equal(withText.data.datasets[0]!.data[1]!.text, undefined);
    assert.deepEqual(withText.plugins!.map((p) => p.id), ['hw1OnnxPointText']);
    assert.deepEqual(scatterChartConfig(runsSpec()).plugins, []);
  });

  it('uses logarithmic axes when logX / logY', () => {
    const spec = runsSpec({ series: [{ label: 'lr sweep', points: [{ x: 1e-4, y: 0.5 }, { x: 1e-1, y: 2 }] }] });
    const both = scatterChartConfig({ ...spec, logX: true, logY: true }).options!.scales!;
    assert.deepEqual([both['x']!.type, both['y']!.type], ['logarithmic', 'logarithmic']);
    const onlyX = scatterChartConfig({ ...spec, logX: true }).options!.scales!;
    assert.deepEqual([onlyX['x']!.type, onlyX['y']!.type], ['logarithmic', 'linear']);
  });

  it('takes pointRadius per series', () => {
    const spec = runsSpec();
    spec.series[1] = { ...spec.series[1]!, pointRadius: 6 };
    assert.deepEqual(scatterChartConfig(spec).data.datasets.map((d) => d.pointRadius), [DEFAULT_POINT_RADIUS, 6]);
  });

  it('does not change the spec it is given', () => {
    const spec = runsSpec({ showPointText: true });
    const copy = structuredClone(spec);
    scatterChartConfig(spec);
    assert.deepEqual(spec, copy);
  });
});

describe('scatter colors', () => {
  it('gives a colorKey the same color as in a line chart and in another scatter chart', () => {
    const scatterA = scatterChartConfig(runsSpec({ series: [{ label: 'resnet (PCA)', colorKey: 'resnet', points: trajectory(0) }] }));
    const scatterB = scatterChartConfig(
      runsSpec({
        series: [
          { label: 'linear', points: trajectory(0) },
          { label: 'resnet again', colorKey: 'resnet', points: trajectory(1) },
        ],
      }),
    );
    const line = lineChartConfig({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ label: 'resnet', points: [{ x: 1, y: 1 }] }] });
    const resnet = colorFor('resnet', 0);
    assert.equal(scatterA.data.datasets[0]!.backgroundColor, resnet);
    assert.equal(scatterB.data.datasets[1]!.backgroundColor, resnet);
    assert.equal(line.data.datasets[0]!.borderColor, resnet);
  });

  it('with a colorOrder, gives the n-th key the n-th color', () => {
    const config = scatterChartConfig(runsSpec({ colorOrder: ['run b', 'run a'] }));
    assert.deepEqual(config.data.datasets.map((d) => d.backgroundColor), [PALETTE[1], PALETTE[0]]);
  });
});

describe('scatter validation', () => {
  it('throws on no series', () => {
    assert.throws(() => scatterChartConfig(runsSpec({ series: [] })), /no series to draw/);
  });

  it('throws on a non-finite value, naming the series and the index', () => {
    const spec = runsSpec({ series: [{ label: 'diverged run', points: [{ x: 0, y: 0 }, { x: Number.POSITIVE_INFINITY, y: 1 }] }] });
    assert.throws(() => scatterChartConfig(spec), /series "diverged run" has a non-finite point at index 1/);
  });

  it('throws on a value <= 0 on a log axis, naming the series and the axis', () => {
    const points = [{ x: 1, y: 1 }, { x: 0, y: 2 }];
    assert.throws(() => scatterChartConfig(runsSpec({ logX: true, series: [{ label: 'zero lr', points }] })), /series "zero lr" has x=0 at index 1.*logarithmic x axis/);
    assert.doesNotThrow(() => scatterChartConfig(runsSpec({ logY: true, series: [{ label: 'zero lr', points }] })));
    const negativeY = [{ x: 1, y: -2 }];
    assert.throws(() => scatterChartConfig(runsSpec({ logY: true, series: [{ label: 'margin', points: negativeY }] })), /series "margin" has y=-2 at index 0/);
  });

  it('rejects a bad size or point radius', () => {
    assert.throws(() => scatterChartConfig(runsSpec({ height: 10.5 })), /height must be a positive integer/);
    assert.throws(() => scatterChartConfig(runsSpec({ series: [{ label: 'r', points: [], pointRadius: -1 }] })), /series "r" has pointRadius -1/);
  });
});

describe('writeScatterChart', () => {
  it('writes the PNG atomically, leaving no temporary file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'hw1-onnx-scatter-'));
    try {
      const path = join(folder, 'nested', 'pca.png');
      await writeScatterChart(path, runsSpec({ showPointText: true }));
      assert.deepEqual([...readFileSync(path).subarray(0, 8)], PNG_SIGNATURE);
      assert.deepEqual(readdirSync(join(folder, 'nested')), ['pca.png']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
