import { join } from 'node:path';
import { fixedFormulation, withConvFormulations, type ConvChooser, type FormulationRecord } from '../autodiff/convFormulations.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../nn/model.ts';
import { serializeGraph } from '../onnx/writer.ts';
import { adam } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomicWrite.ts';
import { manifestFor, type Manifest } from './manifest.ts';
import type { FloatType } from './modelInputs.ts';
import { evalGraph, forwardGraph, gradientGraph, trainStepGraph } from './programs.ts';
import { hessianGraph, MAX_FULL_HESSIAN_PARAMETERS, powerIterationGraph } from './hessianLoops.ts';
import { gradNormStepGraph, gradNormStepsGraph, hvpGraph, inputGradGraph, jacobianGraph } from './secondOrder.ts';

export interface BuildOptions {
  dtype?: FloatType;
  /** The optimizer baked into train_step.onnx and gradnorm_step.onnx; Adam with PyTorch's defaults unless given. */
  optimizer?: Optimizer;
  /** Each convolution's gradient formulation (a tuned chooser); default the fixed choice. */
  convFormulations?: ConvChooser;
}

export function modelPrograms(model: Model, options: BuildOptions = {}): Record<string, Graph> {
  return modelProgramsWithFormulations(model, options).graphs;
}

/** The programs and which gradient formulation each of their Conv nodes got. */
export function modelProgramsWithFormulations(model: Model, options: BuildOptions = {}): { graphs: Record<string, Graph>; formulations: FormulationRecord[] } {
  const { result: graphs, formulations } = withConvFormulations(options.convFormulations ?? fixedFormulation, () => allPrograms(model, options));
  return { graphs, formulations };
}

function allPrograms(model: Model, options: BuildOptions): Record<string, Graph> {
  const dtype = options.dtype ?? 'float32';
  const optimizer = options.optimizer ?? adam();
  return {
    forward: forwardGraph(model, dtype),
    gradient: gradientGraph(model, dtype),
    train_step: trainStepGraph(model, optimizer, dtype),
    eval: evalGraph(model, dtype),
    hvp: hvpGraph(model, dtype),
    ...(model.parameterCount <= MAX_FULL_HESSIAN_PARAMETERS ? { hessian: hessianGraph(model, dtype) } : {}),
    power_iteration: powerIterationGraph(model, dtype),
    gradnorm_step: gradNormStepGraph(model, optimizer, dtype),
    gradnorm_steps: gradNormStepsGraph(model, optimizer, dtype),
    input_grad: inputGradGraph(model, dtype),
    ...(model.task === 'classification' ? { jacobian: jacobianGraph(model, dtype) } : {}),
  };
}

/** Writes graphs/<model>/*.onnx and manifest.json (each file atomically). */
export function writeModelPrograms(model: Model, outDir: string, options: BuildOptions = {}): { dir: string; manifest: Manifest; bytes: number } {
  const dir = join(outDir, model.name);
  const { graphs, formulations } = modelProgramsWithFormulations(model, options);
  let bytes = 0;
  for (const [key, graph] of Object.entries(graphs)) {
    const data = serializeGraph(graph);
    bytes += data.byteLength;
    writeFileAtomic(join(dir, `${key}.onnx`), data);
  }
  const manifest = manifestFor(model, options.dtype ?? 'float32', options.optimizer ?? adam(), graphs, { tuned: !!options.convFormulations, formulations });
  writeJsonAtomic(join(dir, 'manifest.json'), manifest);
  return { dir, manifest, bytes };
}
