/**
 * Chooses each convolution's gradient formulation by measuring the
 * candidates on this machine, as cuDNN's benchmark mode does: for every Conv
 * layer shape of a model, each applicable weight-gradient and input-gradient
 * formulation (autodiff/convFormulations.ts) is built alone, at the run's
 * batch size, and timed on onnxruntime; the fastest wins. Choices are cached
 * on disk by CPU, onnxruntime version, provider, threads, batch and shape, so
 * a machine measures a shape once; a changed shape or CPU is measured anew.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  applicableFormulations,
  convShapeKey,
  fixedFormulation,
  withConvFormulations,
  type ConvChooser,
  type ConvFormulation,
  type ConvLayerShape,
  type InputGradientFormulation,
  type WeightGradientFormulation,
} from '../autodiff/convFormulations.ts';
import { vectorJacobianProducts } from '../autodiff/engine.ts';
import { convLayerShapeOf } from '../autodiff/rules/convGeometry.ts';
import { floatArray } from '../ir/dtype.ts';
import { Graph } from '../ir/graph.ts';
import { conv } from '../ir/spatialOps.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import { forwardGraph } from '../programs/programs.ts';
import type { FloatType } from '../programs/modelInputs.ts';
import { writeJsonAtomic } from '../util/atomicWrite.ts';
import { createSession, type RuntimeOptions } from './session.ts';
import { tensorOf } from './tensors.ts';

/** @2: the matmul-col2im input gradient joined the candidates; entries of @1 never timed it, so they are measured again. */
export const TUNING_CACHE_FORMAT = 'hw1-onnx/conv-tuning@2';

export interface TuneOptions extends RuntimeOptions {
  /** The batch the graphs will run at (N is symbolic in them). */
  batchSize: number;
  dtype?: FloatType;
  /** The cache file; default $HW1_CACHE_DIR, else $XDG_CACHE_HOME/hw1-onnx, else ~/.cache/hw1-onnx, then conv-tuning.json. */
  cacheFile?: string;
  /** What identifies the machine in the cache key; default the CPU model and core count. */
  machine?: string;
  /** Timed runs per candidate after warm-up (median taken). */
  repeats?: number;
  /** Measures one candidate in milliseconds; default builds and times it on onnxruntime (tests count calls). */
  measure?: (candidate: Candidate) => Promise<number>;
}

/** One thing to time: a shape's weight or input gradient by one formulation. */
export interface Candidate {
  shape: ConvLayerShape;
  batchSize: number;
  gradient: 'weight' | 'input';
  formulation: WeightGradientFormulation | InputGradientFormulation;
}

interface CacheEntry extends ConvFormulation {
  /** Median milliseconds of every candidate measured, for the record. */
  milliseconds: Record<string, number>;
  measuredAt: string;
}

interface CacheFile {
  format: typeof TUNING_CACHE_FORMAT;
  entries: Record<string, CacheEntry>;
}

export interface TuningResult {
  chooser: ConvChooser;
  /** Per shape key: the choice, and whether it was measured now or read from the cache. */
  choices: Array<{ shape: string; choice: ConvFormulation; source: 'measured' | 'cache' }>;
}

/** Whether commands tune by default: yes, unless HW1_TUNE=off (the test runner sets it, so tests always use the fixed choice). */
export function tuneByDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(off|0|false|no)$/i.test(env.HW1_TUNE ?? '');
}

export function defaultTuningCacheFile(): string {
  const base = process.env.HW1_CACHE_DIR ?? (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'hw1-onnx') : join(homedir(), '.cache', 'hw1-onnx'));
  return join(base, 'conv-tuning.json');
}

export function defaultMachine(): string {
  const all = cpus();
  return `${all[0]?.model.trim() ?? 'unknown CPU'} x${all.length}`;
}

/** The Conv layers of a model with their static shapes, in graph order, one per distinct shape. */
export function convLayerShapes(model: Model, dtype: FloatType = 'float32'): ConvLayerShape[] {
  const graph = forwardGraph(model, dtype);
  const shapes = new Map<string, ConvLayerShape>();
  for (const node of graph.nodes) {
    if (node.opType !== 'Conv') continue;
    const shape = convLayerShapeOf(node);
    shapes.set(convShapeKey(shape), shape);
  }
  return [...shapes.values()];
}

/** Measures (or reads from the cache) the fastest formulations for every Conv shape of the model. */
export async function tuneConvFormulations(model: Model, options: TuneOptions): Promise<TuningResult> {
  const shapes = convLayerShapes(model, options.dtype ?? 'float32');
  const choices: TuningResult['choices'] = [];
  const byShape = new Map<string, ConvFormulation>();
  if (shapes.length === 0) return { chooser: fixedFormulation, choices };

  const cacheFile = options.cacheFile ?? defaultTuningCacheFile();
  const cache = readCache(cacheFile);
  const prefix = `${options.machine ?? defaultMachine()} | onnxruntime ${ort.env.versions.common} | ${options.ep ?? 'cpu'} | threads ${options.threads ?? cpus().length} | batch ${options.batchSize}`;
  const measure = options.measure ?? ((candidate: Candidate) => timeCandidate(candidate, options));
  let changed = false;
  for (const shape of shapes) {
    const shapeKey = convShapeKey(shape);
    const key = `${prefix} | ${shapeKey}`;
    let entry = cache.entries[key];
    const source = entry ? 'cache' : 'measured';
    if (!entry) {
      const applicable = applicableFormulations(shape);
      const milliseconds: Record<string, number> = {};
      const fastest = async <F extends Candidate['formulation']>(gradient: Candidate['gradient'], formulations: F[]): Promise<F> => {
        if (formulations.length === 1) return formulations[0]!; // nothing to choose: not measured
        let best: F = formulations[0]!;
        let bestMs = Number.POSITIVE_INFINITY;
        for (const formulation of formulations) {
          const ms = await measure({ shape, batchSize: options.batchSize, gradient, formulation });
          milliseconds[`${gradient}:${formulation}`] = ms;
          if (ms < bestMs) {
            best = formulation;
            bestMs = ms;
          }
        }
        return best;
      };
      entry = {
        weightGradient: await fastest('weight', applicable.weightGradient),
        inputGradient: await fastest('input', applicable.inputGradient),
        milliseconds,
        measuredAt: new Date().toISOString(),
      };
      cache.entries[key] = entry;
      changed = true;
    }
    const choice = { weightGradient: entry.weightGradient, inputGradient: entry.inputGradient };
    byShape.set(shapeKey, choice);
    choices.push({ shape: shapeKey, choice, source });
  }
  if (changed) writeJsonAtomic(cacheFile, cache);
  // Shapes the model's layers do not have (a Conv met in second order) take the fixed choice.
  return { chooser: (shape) => byShape.get(convShapeKey(shape)) ?? fixedFormulation(shape), choices };
}

function readCache(file: string): CacheFile {
  if (!existsSync(file)) return { format: TUNING_CACHE_FORMAT, entries: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (parsed.format === TUNING_CACHE_FORMAT && parsed.entries && typeof parsed.entries === 'object') return parsed;
  } catch {
    // A damaged cache only costs measuring again; it is rewritten whole.
  }
  return { format: TUNING_CACHE_FORMAT, entries: {} };
}

/**
 * One candidate alone: y = conv(x, w) and the vector-Jacobian product with a
 * given dy toward x (input gradient) or w (weight gradient), built by the
 * Conv rule with that formulation forced, so what is timed is what training runs.
 */
async function timeCandidate(candidate: Candidate, options: TuneOptions): Promise<number> {
  const { shape, batchSize, gradient, formulation } = candidate;
  const forced: ConvFormulation = {
    weightGradient: gradient === 'weight' ? (formulation as WeightGradientFormulation) : 'swapped-conv',
    inputGradient: gradient === 'input' ? (formulation as InputGradientFormulation) : 'conv-transpose',
  };
  const { result: graph } = withConvFormulations(
    () => forced,
    () => {
      const graph = new Graph('conv-tuning');
      const x = graph.addInput('x', shape.dtype, [batchSize, shape.inChannels, shape.height, shape.width]);
      const w = graph.addInput('w', shape.dtype, [shape.outChannels, shape.inChannels / shape.group, ...shape.kernel]);
      const y = conv(x, w, null, { strides: shape.strides, pads: shape.pads, dilations: shape.dilations, group: shape.group });
      const dy = graph.addInput('dy', shape.dtype, y.shape);
      const [result] = vectorJacobianProducts([y], [dy], [gradient === 'weight' ? w : x]);
      graph.addOutput('gradient', result!);
      return graph;
    },
  );
  const session = await createSession(serializeGraph(graph), options);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of graph.inputs) {
      const dims = input.shape as number[];
      const values = floatArray(shape.dtype as FloatType, dims.reduce((a, b) => a * b, 1));
      for (let i = 0; i < values.length; i++) values[i] = ((i * 7919) % 1000) / 1000 - 0.5;
      feeds[input.name] = tensorOf(shape.dtype as FloatType, values, dims);
    }
    const times: number[] = [];
    const repeats = options.repeats ?? 15;
    for (let run = 0; run < repeats + 3; run++) {
      const start = performance.now();
      await session.run(feeds);
      if (run >= 3) times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    await session.release();
  }
}
