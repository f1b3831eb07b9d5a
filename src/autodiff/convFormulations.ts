/**
 * Which exact formulation a convolution's gradient takes, per layer shape.
 * The Conv rule asks here; whoever builds the graphs decides by calling
 * withConvFormulations with a chooser: the fixed one below (tuning off, and
 * always in tests), or one that measured the candidates on this machine
 * (runtime/convTuner.ts). Every formulation gives the same numbers to float
 * rounding and is made of ops with rules, so second order keeps working.
 */
import type { DType } from '../ir/dtype.ts';

/** dW: a Conv with batch and channels swapped, or im2col columns and one Gemm (rules/im2col.ts). */
export const WEIGHT_GRADIENTS = ['swapped-conv', 'im2col-gemm'] as const;
/**
 * dX: ConvTranspose of dY; or (stride 1) a Conv of the padded dY by the
 * flipped, transposed kernel; or (float32) one MatMul of dY by the kernel
 * and a Col2Im, opset 18 (rules/im2col.ts).
 */
export const INPUT_GRADIENTS = ['conv-transpose', 'flipped-conv', 'matmul-col2im'] as const;
export type WeightGradientFormulation = (typeof WEIGHT_GRADIENTS)[number];
export type InputGradientFormulation = (typeof INPUT_GRADIENTS)[number];

export interface ConvFormulation {
  weightGradient: WeightGradientFormulation;
  inputGradient: InputGradientFormulation;
}

/** What a choice depends on, batch size apart (graphs keep N symbolic; the tuner measures at the run's batch). */
export interface ConvLayerShape {
  dtype: DType;
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

export type ConvChooser = (shape: ConvLayerShape) => ConvFormulation;

/** A stable text key of a layer shape: the tuner's cache key and the manifest's. */
export function convShapeKey(s: ConvLayerShape): string {
  return `${s.dtype} C${s.inChannels}->${s.outChannels} ${s.height}x${s.width} k${s.kernel.join('x')} s${s.strides.join(',')} p${s.pads.join(',')} d${s.dilations.join(',')} g${s.group}`;
}

/**
 * Which formulations apply to a shape: im2col and Col2Im need group 1, and
 * onnxruntime has Col2Im for float32 only; the flipped Conv needs stride and
 * dilation 1 and pads below the kernel.
 */
export function applicableFormulations(s: ConvLayerShape): { weightGradient: WeightGradientFormulation[]; inputGradient: InputGradientFormulation[] } {
  const ungrouped = s.group === 1;
  const flippable =
    ungrouped &&
    s.strides.every((v) => v === 1) &&
    s.dilations.every((v) => v === 1) &&
    s.pads.every((p, i) => p <= s.kernel[i % 2]! - 1);
  return {
    weightGradient: ungrouped ? [...WEIGHT_GRADIENTS] : ['swapped-conv'],
    inputGradient: INPUT_GRADIENTS.filter(
      (f) => f === 'conv-transpose' || (f === 'flipped-conv' && flippable) || (f === 'matmul-col2im' && ungrouped && s.dtype === 'float32'),
    ),
  };
}

/**
 * The choice without measuring, from the tuner's measurements on B2's shapes
 * (batch 64, 2 threads, 2-core AMD EPYC, onnxruntime 1.30): im2col's Gather
 * copies blocks of C floats, so it wins with many input channels (conv2, 16
 * channels: 3.7 against 9.1 ms) and loses with one (conv1: 5.9 against 1.9
 * ms); ConvTranspose did the input gradient fastest of the opset-17 forms on
 * every shape measured (conv2: 3.5 against 6.5 ms by the flipped Conv). The
 * faster MatMul + Col2Im is left to the tuner: it needs opset 18, past the
 * ONNX checker this project validates its graphs with, so the fixed choice
 * stays checkable.
 */
export const fixedFormulation: ConvChooser = (s) => ({
  weightGradient: s.group === 1 && s.inChannels >= 8 ? 'im2col-gemm' : 'swapped-conv',
  inputGradient: 'conv-transpose',
});

let activeChooser: ConvChooser = fixedFormulation;
let activeRecord: Map<string, ConvFormulation & { layers: string[] }> | null = null;

/** The formulation of one Conv node, as the active chooser says; recorded for the manifest. */
export function convFormulationFor(shape: ConvLayerShape, nodeName: string): ConvFormulation {
  const choice = activeChooser(shape);
  if (activeRecord) {
    const key = convShapeKey(shape);
    const entry = activeRecord.get(key) ?? { ...choice, layers: [] };
    if (!entry.layers.includes(nodeName)) entry.layers.push(nodeName);
    activeRecord.set(key, entry);
  }
  return choice;
}

export interface FormulationRecord {
  shape: string;
  weightGradient: WeightGradientFormulation;
  inputGradient: InputGradientFormulation;
  /** The forward Conv nodes of that shape. */
  layers: string[];
}

/** What runs, training runs and manifests record of a model with convolutions. */
export interface ConvolutionsRecord {
  /** Measured on this machine (convTuner.ts), or the fixed choice. */
  tuned: boolean;
  formulations: FormulationRecord[];
}

/** Builds graphs with a chooser in force; returns the result and which formulation each Conv got. */
export function withConvFormulations<T>(chooser: ConvChooser, build: () => T): { result: T; formulations: FormulationRecord[] } {
  const [previousChooser, previousRecord] = [activeChooser, activeRecord];
  activeChooser = chooser;
  activeRecord = new Map();
  try {
    const result = build();
    const formulations = [...activeRecord].map(([shape, entry]) => ({ shape, weightGradient: entry.weightGradient, inputGradient: entry.inputGradient, layers: entry.layers }));
    return { result, formulations };
  } finally {
    activeChooser = previousChooser;
    activeRecord = previousRecord;
  }
}
