import { dirname, join } from 'node:path';
import type { Argv } from 'yargs';
import {
  analysisData,
  DEFAULT_HESSIAN_OPTIONS,
  hessianReport,
  interpolationReport,
  landscapeReport,
  loadWeightsFor,
  resolveWeightsPath,
  sensitivityReport,
  sharpnessReport,
  withDataset,
  type AnalysisContext,
} from '../../analysis/analyze.ts';
import { writeHeatmap } from '../../charts/heatmap.ts';
import { writeChart } from '../../charts/lineChart.ts';
import { findModel, modelNames } from '../../nn/registry.ts';
import { EXECUTION_PROVIDERS } from '../../runtime/providers.ts';
import { ensureWritableFolder, writeJsonAtomic } from '../../util/atomicWrite.ts';
import { UserError } from '../../util/errors.ts';
import { numberFlag, providerFlag, wholeNumberFlag } from '../flags.ts';

const ANALYSES = ['hessian', 'sharpness', 'sensitivity', 'interpolate', 'landscape'] as const;

/** "from:to:count", as -0.5:1.5:21. */
function alphaRange(value: unknown): { from: number; to: number; count: number } {
  const text = String(value);
  const [from, to, count] = text.split(':').map(Number);
  if (text.split(':').length !== 3 || !Number.isFinite(from) || !Number.isFinite(to) || !(to! > from!) || !Number.isInteger(count) || count! < 2) {
    throw new UserError(`--alphas must be FROM:TO:COUNT with FROM < TO and COUNT a whole number of at least 2, as -0.5:1.5:21, got ${JSON.stringify(text)}`);
  }
  return { from: from!, to: to!, count: count! };
}

/** "1e-4,1e-3" into numbers, each positive. */
function epsilonList(value: unknown): number[] {
  const text = String(value);
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new UserError(`--epsilon must be positive numbers separated by commas, got ${JSON.stringify(text)}`);
  }
  return values;
}

export const analyzeCommand = {
  command: 'analyze <what>',
  describe: 'Hessian spectrum, sharpness, input sensitivity, interpolation or loss landscape of any model at given weights; writes JSON (and a PNG)',
  builder: (yargs: Argv) =>
    yargs
      .positional('what', { choices: ANALYSES, describe: 'the analysis', demandOption: true })
      .option('model', { type: 'string', requiresArg: true, demandOption: true, describe: `a declared or imported model (${modelNames().join(', ')})` })
      .option('weights', { type: 'string', requiresArg: true, demandOption: true, describe: 'a .safetensors file (PyTorch state_dict names and shapes) or a run folder out/runs/<id>/' })
      .option('data', { type: 'string', requiresArg: true, describe: "mnist, cifar10 or function:NAME (default: the model's own; must fit its shapes)" })
      .option('examples', { type: 'number', requiresArg: true, default: 1000, describe: 'the first N training examples (a function: N sample points)' })
      .option('data-dir', { type: 'string', requiresArg: true, describe: 'folder with the MNIST IDX files or with CIFAR-10 (default: packaged MNIST)' })
      .option('top-k', { type: 'number', requiresArg: true, default: DEFAULT_HESSIAN_OPTIONS.topK, describe: 'hessian: how many of the largest eigenvalues' })
      .option('lanczos-steps', { type: 'number', requiresArg: true, default: DEFAULT_HESSIAN_OPTIONS.lanczosSteps, describe: 'hessian, sharpness: most Lanczos products' })
      .option('trace-samples', { type: 'number', requiresArg: true, default: DEFAULT_HESSIAN_OPTIONS.traceSamples, describe: "hessian: Rademacher samples of Hutchinson's trace" })
      .option('density-runs', { type: 'number', requiresArg: true, default: DEFAULT_HESSIAN_OPTIONS.densityRuns, describe: 'hessian: stochastic Lanczos quadrature runs of the spectral density (0: none, no figure)' })
      .option('full-limit', { type: 'number', requiresArg: true, default: DEFAULT_HESSIAN_OPTIONS.fullSpectrumLimit, describe: 'hessian: full spectrum and minimal ratio at or below this many parameters' })
      .option('epsilon', { type: 'string', requiresArg: true, default: '1e-4,1e-3,1e-2', describe: 'sharpness: radii of the ε-ball, comma-separated' })
      .option('ascent-steps', { type: 'number', requiresArg: true, default: 30, describe: 'sharpness: projected-gradient steps of the direct maximum' })
      .option('to', { type: 'string', requiresArg: true, describe: 'interpolate: the second weights (α = 1), a .safetensors file or run folder' })
      .option('alphas', { type: 'string', requiresArg: true, default: '-0.5:1.5:21', describe: 'interpolate: the α grid FROM:TO:COUNT (0 and 1 always included)' })
      .option('dims', { type: 'number', requiresArg: true, default: 1, describe: 'landscape: 1 (a line) or 2 (a plane)' })
      .option('range', { type: 'number', requiresArg: true, default: 1, describe: 'landscape: α (and β) from -RANGE to RANGE' })
      .option('points', { type: 'number', requiresArg: true, default: 21, describe: 'landscape: grid points per axis' })
      .option('seed', { type: 'number', requiresArg: true, default: 0, describe: 'seeds the random start vectors' })
      .option('ep', { type: 'string', requiresArg: true, default: 'cpu', describe: `execution provider: ${EXECUTION_PROVIDERS.join(', ')}` })
      .option('threads', { type: 'number', requiresArg: true, describe: 'intra-op threads (default: all cores)' })
      .option('out', { type: 'string', requiresArg: true, default: 'out', describe: 'output folder: writes <out>/analysis/<model>-<what>.json' })
      .option('json', { type: 'boolean', default: false, describe: 'print the JSON report on stdout' })
      .example('$0 analyze hessian --model mnist-dnn --weights out/runs/mnist-dnn-adam-1/ --examples 1000', 'λ_max, top-5 eigenvalues and trace of a trained run')
      .example('$0 analyze interpolate --model mnist-dnn --weights out/runs/a/ --to out/runs/b/', 'the loss on the line between two runs')
      .example('$0 analyze landscape --model mnist-dnn --weights out/runs/a/ --dims 2 --points 11', 'a filter-normalized loss surface')
      .example('$0 analyze sharpness --model my-net --weights state_dict.safetensors --json', 'a PyTorch model imported with hw1-onnx import'),
  handler: async (args: Record<string, unknown>) => {
    const what = String(args.what) as (typeof ANALYSES)[number];
    const model = withDataset(findModel(String(args.model)), args.data as string | undefined);
    const ep = providerFlag(args.ep);
    const threads = args.threads === undefined ? undefined : wholeNumberFlag('threads', args.threads, 1);
    const examples = wholeNumberFlag('examples', args.examples, 1);
    const epsilons = epsilonList(args.epsilon);
    const weightsPath = resolveWeightsPath(String(args.weights));
    const weights = loadWeightsFor(model, weightsPath);
    const out = String(args.out);
    ensureWritableFolder(out);
    const context: AnalysisContext = {
      model,
      weights,
      weightsPath,
      data: analysisData(model, { examples, dataDir: args['data-dir'] as string | undefined }),
      runtime: { ep, threads },
      seed: wholeNumberFlag('seed', args.seed, 0),
    };
    const lanczosSteps = () => wholeNumberFlag('lanczos-steps', args['lanczos-steps'], 1);
    let report: Record<string, unknown>;
    if (what === 'hessian') {
      report = await hessianReport(context, {
        topK: wholeNumberFlag('top-k', args['top-k'], 1),
        lanczosSteps: lanczosSteps(),
        traceSamples: wholeNumberFlag('trace-samples', args['trace-samples'], 1),
        fullSpectrumLimit: wholeNumberFlag('full-limit', args['full-limit'], 0),
        powerIterations: DEFAULT_HESSIAN_OPTIONS.powerIterations,
        densityRuns: wholeNumberFlag('density-runs', args['density-runs'], 0),
      });
    } else if (what === 'sharpness') {
      report = await sharpnessReport(context, { epsilons, ascentSteps: wholeNumberFlag('ascent-steps', args['ascent-steps'], 0), lanczosSteps: lanczosSteps() });
    } else if (what === 'sensitivity') {
      report = await sensitivityReport(context);
    } else if (what === 'interpolate') {
      if (args.to === undefined) throw new UserError('interpolate needs the second weights: --to FILE.safetensors or a run folder (α = 1; --weights is α = 0)');
      const toPath = resolveWeightsPath(String(args.to));
      report = await interpolationReport(context, { weights: loadWeightsFor(model, toPath), path: toPath }, alphaRange(args.alphas));
    } else {
      const dims = wholeNumberFlag('dims', args.dims, 1);
      if (dims !== 1 && dims !== 2) throw new UserError(`--dims must be 1 (a line) or 2 (a plane), got ${dims}`);
      report = await landscapeReport(context, {
        dimensions: dims,
        range: numberFlag('range', args.range, (v) => v > 0, 'a positive number'),
        points: wholeNumberFlag('points', args.points, 2),
      });
    }
    const path = join(out, 'analysis', `${model.name}-${what}.json`);
    ensureWritableFolder(dirname(path));
    writeJsonAtomic(path, report);
    const figure = await writeFigure(path.replace(/\.json$/, '.png'), report);
    if (args.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      process.stderr.write(`wrote ${path}${figure ? ` and ${figure}` : ''}\n`);
    } else {
      console.log(summaryLine(report));
      console.log(`wrote ${path}${figure ? ` and ${figure}` : ''}`);
    }
  },
};

/** The headline numbers of a report, on one line. */
function summaryLine(report: Record<string, unknown>): string {
  const fields = ['loss', 'lambda_max', 'trace', 'loss_gradient_norm', 'jacobian_norm'].filter((name) => typeof report[name] === 'number');
  const numbers = fields.map((name) => `${name} ${(report[name] as number).toPrecision(6)}`);
  if (report.analysis === 'interpolate') {
    const alpha = report.alpha as number[];
    const train = report.train_loss as number[];
    numbers.push(`training loss ${train[alpha.indexOf(0)]!.toPrecision(6)} at α = 0, ${train[alpha.indexOf(1)]!.toPrecision(6)} at α = 1, highest ${Math.max(...train).toPrecision(6)}`);
  }
  return `${report.model} ${report.analysis} on ${report.examples} examples (${report.parameters} parameters): ${numbers.join(', ')}`;
}

/** The report's figure, where it has one: the interpolation or 1-D landscape as a line chart, a 2-D landscape as a heatmap. */
async function writeFigure(path: string, report: Record<string, unknown>): Promise<string | undefined> {
  const alpha = report.alpha as number[] | undefined;
  // A log scale where the values are positive and span more than a factor of 10; a narrow band reads better (and gets ticks) on a linear one.
  const allPositive = (values: number[]) => values.every((v) => v > 0) && Math.max(...values) > 10 * Math.min(...values);
  const title = `${report.model}, ${report.examples} examples`;
  const density = report.spectral_density as { eigenvalue: number[]; density: number[] } | null | undefined;
  if (report.analysis === 'hessian' && density) {
    await writeChart(path, {
      title: `Hessian spectral density: ${title}`,
      xLabel: 'eigenvalue',
      // PyHessian's plot: a log scale shows the few outliers beside the bulk; the floor keeps the Gaussians' underflowed tails drawable.
      yLabel: 'density (log scale, floored at 1e-7)',
      logY: true,
      series: [{ label: 'spectral density (stochastic Lanczos quadrature)', colorKey: 'density', points: density.eigenvalue.map((x, i) => ({ x, y: Math.max(density.density[i]!, 1e-7) })) }],
    });
    return path;
  }
  if (report.analysis === 'interpolate' && alpha) {
    const train = report.train_loss as number[];
    const test = report.test_loss as number[];
    await writeChart(path, {
      title: `Loss from --weights (α = 0) to --to (α = 1): ${title}`,
      xLabel: 'α',
      yLabel: allPositive([...train, ...test]) ? 'loss (log scale)' : 'loss',
      logY: allPositive([...train, ...test]),
      colorOrder: ['train', 'test'],
      series: [
        { label: 'training loss', colorKey: 'train', points: alpha.map((x, i) => ({ x, y: train[i]! })) },
        { label: 'test loss', colorKey: 'test', points: alpha.map((x, i) => ({ x, y: test[i]! })) },
      ],
    });
    return path;
  }
  if (report.analysis === 'landscape' && alpha && report.dimensions === 1) {
    const train = report.train_loss as number[];
    await writeChart(path, {
      title: `Training loss along a filter-normalized direction: ${title}`,
      xLabel: 'α (filter-normalized direction)',
      yLabel: allPositive(train) ? 'loss (log scale)' : 'loss',
      logY: allPositive(train),
      series: [{ label: 'training loss', colorKey: 'train', points: alpha.map((x, i) => ({ x, y: train[i]! })) }],
    });
    return path;
  }
  if (report.analysis === 'landscape' && alpha) {
    const z = report.train_loss_grid as number[][];
    await writeHeatmap(path, {
      title: `Training loss on a filter-normalized plane: ${title}`,
      xLabel: 'α (direction 1)',
      yLabel: 'β (direction 2)',
      zLabel: 'loss',
      x: alpha,
      y: report.beta as number[],
      z,
      logZ: allPositive(z.flat()),
      marks: [{ x: 0, y: 0, label: 'weights' }],
    });
    return path;
  }
  return undefined;
}
