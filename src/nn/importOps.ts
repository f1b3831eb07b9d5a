/**
 * Replays the nodes of an imported ONNX forward graph with hw1-onnx's own op
 * functions (src/ir/ops.ts, src/ir/spatialOps.ts), so the gradient rules of
 * src/autodiff apply to it unchanged, second order included. One entry per
 * supported op type says which attributes it understands, which inputs carry
 * data (a float initializer there is a parameter; elsewhere, as Reshape's
 * shape, a constant) and how it is emitted.
 *
 * The exporter's shape arithmetic (Shape, Gather, Unsqueeze, Concat feeding a
 * Reshape, as `x.view(x.size(0), -1)` writes it) is evaluated while the
 * graph is built, with the batch size kept symbolic, and a Reshape whose
 * target starts with the batch (or -1 standing for it) keeps the batch
 * dimension dynamic: the programs run with any batch size. What cannot be
 * resolved that way is refused with the node named.
 */
import type { DType } from '../ir/dtype.ts';
import type { Graph, Value } from '../ir/graph.ts';
import {
  abs,
  add,
  concat,
  cos,
  div,
  exp,
  flatten,
  gather,
  gemm,
  log,
  logSoftmax,
  matmul,
  mul,
  neg,
  pad,
  pow,
  relu,
  reshape,
  sigmoid,
  sin,
  slice,
  softmax,
  sqrt,
  squeeze,
  sub,
  tanh,
  transpose,
  unsqueeze,
  type OpOptions,
} from '../ir/ops.ts';
import { formatShape, type Dim } from '../ir/shape.ts';
import { averagePool, conv, convOutputSize, dropout, maxPool } from '../ir/spatialOps.ts';
import type { DecodedAttribute, DecodedNode, DecodedTensor } from '../onnx/decode.ts';

/** A tensor known while the graph is built: its entries are numbers, or the batch size's symbol in shape arithmetic. */
export interface Constant {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: Dim[];
}

/** What a name of the ONNX graph stands for during the replay. */
export type Entry =
  | { readonly kind: 'value'; readonly value: Value }
  | { readonly kind: 'constant'; readonly constant: Constant }
  /** An output hw1-onnx does not compute (MaxPool's Indices, Dropout's mask): reading it is refused. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** An entry a node may read. */
export type Available = Exclude<Entry, { kind: 'unavailable' }>;

/** A node that cannot be imported: the message says what and how to fix it. */
export class NodeImportError extends Error {}

export interface ReplayContext {
  readonly graph: Graph;
  /** The element type of the program being built (float32 or float64). */
  readonly dtype: DType;
  /** The batch dimension of x: a symbol ("N"). */
  readonly batch: Dim;
  /** The batch size written in the file's input, when it is a number (the exporter's example batch). */
  readonly fileBatch: number | undefined;
  readonly training: boolean;
  readonly opset: number;
}

export function constantOf(tensor: DecodedTensor): Constant {
  return { dtype: tensor.dtype, shape: [...tensor.shape], data: Array.from(tensor.data as ArrayLike<number | bigint>, Number) };
}

const isFloat = (dtype: DType) => dtype === 'float32' || dtype === 'float64';
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const numeric = (data: readonly Dim[]): data is number[] => data.every((d) => typeof d === 'number');

/** The ONNX element type codes a Cast or a ConstantOfShape may name. */
const DTYPE_OF_CODE: Record<number, DType> = { 1: 'float32', 11: 'float64', 6: 'int64', 7: 'int64', 9: 'bool' };

/** One node being replayed: typed access to its inputs and attributes, and errors in the importer's words. */
export class NodeCall {
  constructor(
    readonly node: DecodedNode,
    private readonly inputEntries: readonly (Entry | undefined)[],
    readonly context: ReplayContext,
  ) {}

  get options(): OpOptions {
    // torch names nodes "/fc1/Gemm": the scopes Netron groups by.
    return { name: this.node.name.replace(/^\/+/, '') || this.node.opType };
  }

  fail(problem: string, fix: string): never {
    throw new NodeImportError(`${problem}; ${fix}`);
  }

  has(index: number): boolean {
    return this.inputEntries[index] !== undefined;
  }

  entry(index: number): Available {
    const entry = this.inputEntries[index];
    if (!entry) this.fail(`input ${index + 1} is missing`, 'export the model with torch.onnx.export, which gives every required input');
    if (entry.kind === 'unavailable') this.fail(`input ${index + 1} (${this.node.inputs[index]}) is ${entry.reason}`, 'use only the first output of that node');
    return entry;
  }

  /** Input `index` as a graph value; a constant becomes an initializer, floats in the program's element type. */
  value(index: number): Value {
    const entry = this.entry(index);
    return entry.kind === 'value' ? entry.value : this.materialize(entry.constant, index);
  }

  /** Input `index` as a float value of the program's element type: a constant of any type becomes one. */
  floatValue(index: number): Value {
    const entry = this.entry(index);
    if (entry.kind === 'value') return entry.value;
    return this.materialize({ ...entry.constant, dtype: this.context.dtype }, index);
  }

  materialize(constant: Constant, index: number): Value {
    if (!numeric(constant.data)) {
      this.fail(`input ${index + 1} (${this.node.inputs[index]}) depends on the batch size, known only at run time, and cannot be resolved`, 'export with the batch dimension kept apart (x.view(x.size(0), -1) or nn.Flatten())');
    }
    const dtype = isFloat(constant.dtype) ? this.context.dtype : constant.dtype;
    return this.context.graph.constant(dtype, constant.shape, constant.data);
  }

  /** Input `index` as a constant known while the graph is built (a shape, axes, pads). */
  constant(index: number, what: string): Constant {
    const entry = this.entry(index);
    if (entry.kind !== 'constant') {
      this.fail(`its ${what} (input ${index + 1}, ${this.node.inputs[index]}) is computed at run time and cannot be resolved`, 'export with a fixed one (a constant in the model, not a tensor computed from the input)');
    }
    return entry.constant;
  }

  /** A constant input as whole numbers: symbolic entries (the batch) are refused. */
  ints(index: number, what: string): number[] {
    const { data } = this.constant(index, what);
    if (!numeric(data)) this.fail(`its ${what} depends on the batch size`, 'export with a fixed one');
    return data;
  }

  attribute(name: string): DecodedAttribute | undefined {
    return this.node.attributes[name];
  }

  int(name: string, fallback: number): number {
    const a = this.attribute(name);
    if (a === undefined) return fallback;
    if (a.kind !== 'int') this.fail(`attribute ${name} is not an integer`, 'export the model with torch.onnx.export');
    return a.value;
  }

  float(name: string, fallback: number): number {
    const a = this.attribute(name);
    if (a === undefined) return fallback;
    if (a.kind !== 'float') this.fail(`attribute ${name} is not a float`, 'export the model with torch.onnx.export');
    return a.value;
  }

  intList(name: string): number[] | undefined {
    const a = this.attribute(name);
    if (a === undefined) return undefined;
    if (a.kind !== 'ints') this.fail(`attribute ${name} is not a list of integers`, 'export the model with torch.onnx.export');
    return a.value;
  }

  string(name: string, fallback: string): string {
    const a = this.attribute(name);
    if (a === undefined) return fallback;
    if (a.kind !== 'string') this.fail(`attribute ${name} is not a string`, 'export the model with torch.onnx.export');
    return a.value;
  }

  /** The axes of Unsqueeze/Squeeze/ReduceX: an input from opset 13, an attribute before. */
  axes(inputIndex: number): number[] | undefined {
    if (this.context.opset >= 13) return this.has(inputIndex) ? this.ints(inputIndex, 'axes') : undefined;
    return this.intList('axes');
  }

  /** Refuses an axis that is the batch dimension of `x` (ops along it would mix examples). */
  keepBatch(axis: number, rank: number, what: string): number {
    const normalized = axis < 0 ? axis + rank : axis;
    if (normalized === 0) this.fail(`it ${what} along the batch dimension (axis ${axis})`, 'keep the batch dimension first and untouched');
    return normalized;
  }
}

export interface OpTranslation {
  /** The attributes it reads; any other is refused. */
  readonly attributes: readonly string[];
  /** Inputs that carry data: a float initializer fed here is a trainable parameter. */
  readonly dataInputs: readonly number[] | 'all';
  apply(call: NodeCall): Entry | Entry[];
}

const value = (v: Value): Entry => ({ kind: 'value', value: v });
const constant = (c: Constant): Entry => ({ kind: 'constant', constant: c });

function unary(op: (x: Value, options: OpOptions) => Value): OpTranslation {
  return { attributes: [], dataInputs: [0], apply: (call) => value(op(call.value(0), call.options)) };
}

function foldElementwise(call: NodeCall, a: Constant, b: Constant, f: (x: number, y: number) => number): Constant {
  const shape = size(a.shape) >= size(b.shape) ? a.shape : b.shape;
  const fits = (c: Constant) => size(c.shape) === 1 || formatShape(c.shape) === formatShape(shape);
  if (!fits(a) || !fits(b)) call.fail(`it combines constants of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`, 'export with constant folding on (do_constant_folding=True)');
  if (!numeric(a.data) || !numeric(b.data)) {
    call.fail('it computes with the batch size, known only at run time, and cannot be resolved', 'export with the batch dimension kept apart (x.view(x.size(0), -1) or nn.Flatten())');
  }
  const at = (c: number[], i: number) => (c.length === 1 ? c[0]! : c[i]!);
  const isInt = a.dtype === 'int64';
  const data = Array.from({ length: size(shape) }, (_, i) => {
    const r = f(at(a.data as number[], i), at(b.data as number[], i));
    return isInt ? Math.trunc(r) : r;
  });
  return { dtype: a.dtype, shape: [...shape], data };
}

function binary(op: (a: Value, b: Value, options: OpOptions) => Value, fold: (x: number, y: number) => number): OpTranslation {
  return {
    attributes: [],
    dataInputs: [0, 1],
    apply(call) {
      const [a, b] = [call.entry(0), call.entry(1)];
      if (a.kind === 'constant' && b.kind === 'constant') return constant(foldElementwise(call, a.constant, b.constant, fold));
      // A constant operand (a scalar such as 0.5, or 2 written as an integer) takes the program's float type.
      const [x, y] = [call.floatValue(0), call.floatValue(1)];
      if (!isFloat(x.dtype) || !isFloat(y.dtype)) call.fail('it computes with integers at run time', 'compute shapes from constants, or keep integer arithmetic out of the exported forward pass');
      return value(op(x, y, call.options));
    },
  };
}

function pair(call: NodeCall, name: string, fallback: [number, number]): [number, number] {
  const list = call.intList(name);
  if (list === undefined) return fallback;
  if (list.length !== 2) call.fail(`attribute ${name}=[${list}] is not 2-D`, 'import 2-D layers (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d) only');
  return [list[0]!, list[1]!];
}

function image(call: NodeCall, layer: string): Value {
  const x = call.value(0);
  if (x.rank !== 4) call.fail(`its input is ${formatShape(x.shape)}, not [N, C, H, W]`, `only 2-D layers are imported (${layer}); reshape to an image first`);
  return x;
}

/** auto_pad: NOTSET and VALID name explicit pads; SAME_* would need the padding computed per size. */
function explicitPads(call: NodeCall, kernel: [number, number], layer: string): [number, number, number, number] {
  const autoPad = call.string('auto_pad', 'NOTSET');
  const pads = call.intList('pads') ?? [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const suggestion = kernel[0] === kernel[1] ? `padding=${Math.floor((kernel[0] - 1) / 2)}` : `padding=(${kernel.map((k) => Math.floor((k - 1) / 2))})`;
    call.fail(`attribute auto_pad=${autoPad} is not supported`, `export with explicit padding (${suggestion} in ${layer})`);
  }
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') call.fail(`attribute auto_pad=${autoPad} is not supported`, `export with explicit padding in ${layer}`);
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (pads.length !== 4) call.fail(`attribute pads=[${pads}] is not 2-D`, `only 2-D layers are imported (${layer})`);
  if (pads.some((p) => p < 0)) call.fail(`attribute pads=[${pads}] is negative`, `use padding >= 0 in ${layer}`);
  return pads as [number, number, number, number];
}

function poolGeometry(call: NodeCall, x: Value, layer: string) {
  const kernel = pair(call, 'kernel_shape', [0, 0]);
  if (!call.attribute('kernel_shape')) call.fail('attribute kernel_shape is missing', `export ${layer} with torch.onnx.export`);
  const strides = pair(call, 'strides', [1, 1]);
  const pads = explicitPads(call, kernel, layer);
  const ceilMode = call.int('ceil_mode', 0);
  if (ceilMode !== 0) {
    // ceil_mode only matters where a last, partial window would be kept.
    const [h, w] = [x.shape[2] as number, x.shape[3] as number];
    const same = [0, 1].every((axis) => {
      const n = axis === 0 ? h : w;
      return convOutputSize(n, kernel[axis]!, strides[axis]!, pads[axis]!, pads[axis + 2]!) === convOutputSize(n, kernel[axis]!, strides[axis]!, pads[axis]!, pads[axis + 2]!, 1, true);
    });
    if (!same) call.fail(`attribute ceil_mode=1 changes the output size of this ${formatShape(x.shape)} input`, `use ceil_mode=False in ${layer}`);
  }
  return { kernel, strides, pads };
}

/** The batch-preserving form of a Reshape target: [0, ...per-example sizes], or undefined when the target merges or moves the batch. */
function batchReshape(call: NodeCall, x: Value, target: Dim[], allowZero: boolean): number[] | undefined {
  const { batch, fileBatch } = call.context;
  if (x.shape[0] !== batch || target.length === 0) return undefined;
  const perExample = x.shape.slice(1);
  if (!perExample.every((d): d is number => typeof d === 'number')) return undefined;
  const exampleSize = size(perExample);
  const first = target[0]!;
  const rest = target.slice(1).map((dim, i) => (dim === 0 && !allowZero ? perExample[i] : dim));
  if (!rest.every((d): d is number => typeof d === 'number')) return undefined;
  const inferred = rest.indexOf(-1);
  if (inferred >= 0) {
    const known = size(rest.filter((_, i) => i !== inferred));
    if (known === 0 || exampleSize % known !== 0) return undefined;
    rest[inferred] = exampleSize / known;
  }
  if (rest.some((d) => d < 0) || size(rest) !== exampleSize) return undefined;
  const firstIsBatch = first === batch || first === -1 || (first === 0 && !allowZero) || (fileBatch !== undefined && first === fileBatch);
  return firstIsBatch ? [0, ...rest] : undefined;
}

function reshapeConstant(call: NodeCall, c: Constant, target: number[]): Constant {
  const shape = target.map((d, i) => (d === 0 ? c.shape[i]! : d));
  const inferred = shape.indexOf(-1);
  if (inferred >= 0) shape[inferred] = size(c.shape) / size(shape.filter((_, i) => i !== inferred));
  if (size(shape) !== size(c.shape)) call.fail(`it reshapes a constant ${formatShape(c.shape)} to [${target}]`, 'export a model whose shapes fit');
  return { ...c, shape };
}

function rank1(call: NodeCall, c: Constant, what: string): void {
  if (c.shape.length > 1) call.fail(`it computes on a ${formatShape(c.shape)} ${what} while the graph is built, which hw1-onnx folds only for vectors`, 'export with constant folding on (do_constant_folding=True)');
}

/** The ops an imported graph may use, by ONNX op type. */
export const IMPORTED_OPS: Readonly<Record<string, OpTranslation>> = {
  Gemm: {
    attributes: ['alpha', 'beta', 'transA', 'transB'],
    dataInputs: [0, 1, 2],
    apply: (call) =>
      value(
        gemm(call.value(0), call.value(1), call.has(2) ? call.value(2) : null, {
          ...call.options,
          transA: call.int('transA', 0) === 1,
          transB: call.int('transB', 0) === 1,
          alpha: call.float('alpha', 1),
          beta: call.float('beta', 1),
        }),
      ),
  },
  MatMul: {
    attributes: [],
    dataInputs: [0, 1],
    apply: (call) => value(matmul(call.value(0), call.value(1), call.options)),
  },
  Add: binary(add, (a, b) => a + b),
  Sub: binary(sub, (a, b) => a - b),
  Mul: binary(mul, (a, b) => a * b),
  Div: binary(div, (a, b) => a / b),
  Pow: binary(pow, (a, b) => a ** b),
  Relu: unary(relu),
  Tanh: unary(tanh),
  Sigmoid: unary(sigmoid),
  Neg: unary(neg),
  Exp: unary(exp),
  Log: unary(log),
  Sqrt: unary(sqrt),
  Abs: unary(abs),
  Sin: unary(sin),
  Cos: unary(cos),
  Identity: { attributes: [], dataInputs: [0], apply: (call) => call.entry(0) },
  Softmax: softmaxLike(softmax),
  LogSoftmax: softmaxLike(logSoftmax),
  Conv: {
    attributes: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
    dataInputs: [0, 1, 2],
    apply(call) {
      const x = image(call, 'nn.Conv2d');
      const w = call.value(1);
      if (w.rank !== 4) call.fail(`its weight is ${formatShape(w.shape)}, not [out, in, kH, kW]`, 'only 2-D convolutions (nn.Conv2d) are imported');
      const kernel: [number, number] = [w.shape[2] as number, w.shape[3] as number];
      const declared = call.intList('kernel_shape');
      if (declared && declared.join() !== kernel.join()) call.fail(`attribute kernel_shape=[${declared}] differs from its weight ${formatShape(w.shape)}`, 'export the model with torch.onnx.export');
      const group = call.int('group', 1);
      if (group !== 1) call.fail(`attribute group=${group} is not supported (no weight gradient for grouped convolutions yet)`, 'use groups=1 in nn.Conv2d');
      const pads = explicitPads(call, kernel, 'nn.Conv2d');
      const b = call.has(2) ? call.value(2) : null;
      return value(conv(x, w, b, { strides: pair(call, 'strides', [1, 1]), pads, dilations: pair(call, 'dilations', [1, 1]) }, call.options));
    },
  },
  MaxPool: {
    attributes: ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'],
    dataInputs: [0],
    apply(call) {
      const x = image(call, 'nn.MaxPool2d');
      const dilations = pair(call, 'dilations', [1, 1]);
      if (dilations.some((d) => d !== 1)) call.fail(`attribute dilations=[${dilations}] is not supported`, 'use dilation=1 in nn.MaxPool2d');
      if (call.int('storage_order', 0) !== 0) call.fail('attribute storage_order=1 (column-major indices) is not supported', 'export with the default storage order');
      const { y } = maxPool(x, poolGeometry(call, x, 'nn.MaxPool2d'), call.options);
      return [value(y), { kind: 'unavailable', reason: "MaxPool's Indices output, which hw1-onnx does not import" }];
    },
  },
  AveragePool: {
    attributes: ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides'],
    dataInputs: [0],
    apply(call) {
      const x = image(call, 'nn.AvgPool2d');
      const geometry = poolGeometry(call, x, 'nn.AvgPool2d');
      if (call.int('count_include_pad', 0) === 0 && geometry.pads.some((p) => p !== 0)) {
        call.fail('attribute count_include_pad=0 with padding is not supported', 'use count_include_pad=True (the default) in nn.AvgPool2d');
      }
      return value(averagePool(x, geometry, call.options));
    },
  },
  Pad: {
    attributes: ['mode', 'pads', 'value'],
    dataInputs: [0],
    apply(call) {
      const mode = call.string('mode', 'constant');
      if (mode !== 'constant') call.fail(`attribute mode=${mode} is not supported`, "use zero padding (padding_mode='zeros')");
      const pads = call.context.opset >= 11 ? call.ints(1, 'pads') : (call.intList('pads') ?? []);
      const fill = call.context.opset >= 11 ? (call.has(2) ? Number(call.constant(2, 'constant value').data[0] ?? 0) : 0) : call.float('value', 0);
      if (call.has(3)) call.fail('input axes is not supported', 'export with opset_version=17');
      const entry = call.entry(0);
      if (pads.every((p) => p === 0)) return entry;
      const x = call.value(0);
      if (pads.length !== 2 * x.rank) call.fail(`pads [${pads}] do not fit its ${formatShape(x.shape)} input`, 'export a model whose shapes fit');
      if (pads.some((p) => p < 0)) call.fail(`pads [${pads}] are negative (a crop)`, 'crop with slicing instead');
      if (pads[0] !== 0 || pads[x.rank] !== 0) call.fail('it pads the batch dimension', 'pad only the per-example dimensions');
      return value(pad(x, pads, fill, call.options));
    },
  },
  Flatten: {
    attributes: ['axis'],
    dataInputs: [0],
    apply(call) {
      const entry = call.entry(0);
      const axis = call.int('axis', 1);
      if (entry.kind === 'constant') {
        const a = axis < 0 ? axis + entry.constant.shape.length : axis;
        return constant({ ...entry.constant, shape: [size(entry.constant.shape.slice(0, a)), size(entry.constant.shape.slice(a))] });
      }
      const x = entry.value;
      const normalized = axis < 0 ? axis + x.rank : axis;
      if (normalized !== 1) call.fail(`attribute axis=${axis} merges the batch with other dimensions`, 'flatten from dimension 1 (nn.Flatten())');
      return value(flatten(x, 1, call.options));
    },
  },
  Reshape: {
    attributes: ['allowzero'],
    dataInputs: [0],
    apply(call) {
      const allowZero = call.int('allowzero', 0) === 1;
      const target = call.constant(1, 'target shape').data;
      const entry = call.entry(0);
      if (entry.kind === 'constant') {
        if (!numeric(target)) return call.fail('it reshapes a constant to a shape that depends on the batch size', 'export with constant folding on');
        return constant(reshapeConstant(call, entry.constant, target));
      }
      const x = entry.value;
      const kept = batchReshape(call, x, target, allowZero);
      if (kept) return value(reshape(x, kept, call.options));
      const shown = `[${target.map((d) => (typeof d === 'number' ? d : 'batch')).join(', ')}]`;
      return call.fail(
        `its target shape ${shown} for the ${formatShape(x.shape)} input does not keep the batch dimension first, so it cannot be resolved for every batch size`,
        'reshape with the batch first (x.view(x.size(0), -1), x.reshape(-1, features) or nn.Flatten())',
      );
    },
  },
  Transpose: {
    attributes: ['perm'],
    dataInputs: [0],
    apply(call) {
      const x = call.value(0);
      const perm = call.intList('perm') ?? [...Array(x.rank).keys()].reverse();
      if (x.shape[0] === call.context.batch && perm[0] !== 0) call.fail(`attribute perm=[${perm}] moves the batch dimension`, 'keep the batch dimension first');
      return value(transpose(x, perm, call.options));
    },
  },
  Dropout: {
    attributes: ['ratio', 'seed'],
    dataInputs: [0],
    apply(call) {
      const ratio = call.context.opset >= 12 ? (call.has(1) ? Number(call.constant(1, 'ratio').data[0]) : 0.5) : call.float('ratio', 0.5);
      const mask: Entry = { kind: 'unavailable', reason: "Dropout's mask output, which hw1-onnx does not import" };
      // PyTorch's model.train() / model.eval() decide, not the exported training_mode input.
      if (!call.context.training || ratio === 0) return [call.entry(0), mask];
      const seed = call.int('seed', [...call.node.name].reduce((hash, ch) => (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0, 17));
      return [value(dropout(call.value(0), ratio, seed, call.options).y), mask];
    },
  },
  Constant: {
    attributes: ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'],
    dataInputs: [],
    apply(call) {
      const a = call.attribute('value') ?? call.attribute('value_float') ?? call.attribute('value_floats') ?? call.attribute('value_int') ?? call.attribute('value_ints');
      switch (a?.kind) {
        case 'tensor':
          return constant(constantOf(a.value));
        case 'float':
          return constant({ dtype: 'float32', shape: [], data: [a.value] });
        case 'floats':
          return constant({ dtype: 'float32', shape: [a.value.length], data: a.value });
        case 'int':
          return constant({ dtype: 'int64', shape: [], data: [a.value] });
        case 'ints':
          return constant({ dtype: 'int64', shape: [a.value.length], data: a.value });
        default:
          return call.fail('it holds no tensor, number or list of numbers', 'export the model with torch.onnx.export');
      }
    },
  },
  Shape: {
    attributes: ['start', 'end'],
    dataInputs: [],
    apply(call) {
      const entry = call.entry(0);
      const dims: Dim[] = entry.kind === 'value' ? [...entry.value.shape] : entry.constant.shape;
      const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + dims.length : i, 0), dims.length);
      const kept = dims.slice(clamp(call.int('start', 0)), clamp(call.int('end', dims.length)));
      return constant({ dtype: 'int64', shape: [kept.length], data: kept });
    },
  },
  Gather: {
    attributes: ['axis'],
    dataInputs: [0],
    apply(call) {
      const data = call.entry(0);
      const axis = call.int('axis', 0);
      if (data.kind === 'constant') {
        rank1(call, data.constant, 'tensor');
        const indices = call.ints(1, 'indices');
        const n = data.constant.shape[0] ?? 1;
        const picked = indices.map((i) => data.constant.data[i < 0 ? i + n : i]!);
        const shape = call.constant(1, 'indices').shape;
        return constant({ dtype: data.constant.dtype, shape, data: picked });
      }
      const x = data.value;
      const a = call.keepBatch(axis, x.rank, 'gathers');
      return value(gather(x, call.value(1), a, call.options));
    },
  },
  Unsqueeze: {
    attributes: ['axes'],
    dataInputs: [0],
    apply(call) {
      const axes = call.axes(1);
      if (!axes) return call.fail('it names no axes', 'export the model with torch.onnx.export');
      const entry = call.entry(0);
      if (entry.kind === 'constant') {
        const rank = entry.constant.shape.length + axes.length;
        const normalized = axes.map((a) => (a < 0 ? a + rank : a));
        const shape: number[] = [];
        for (let axis = 0, next = 0; axis < rank; axis++) shape.push(normalized.includes(axis) ? 1 : entry.constant.shape[next++]!);
        return constant({ ...entry.constant, shape });
      }
      const x = entry.value;
      axes.forEach((a) => call.keepBatch(a, x.rank + axes.length, 'inserts a dimension'));
      return value(unsqueeze(x, axes, call.options));
    },
  },
  Squeeze: {
    attributes: ['axes'],
    dataInputs: [0],
    apply(call) {
      const axes = call.axes(1);
      const entry = call.entry(0);
      if (entry.kind === 'constant') {
        const rank = entry.constant.shape.length;
        const normalized = axes?.map((a) => (a < 0 ? a + rank : a));
        return constant({ ...entry.constant, shape: entry.constant.shape.filter((d, i) => (normalized ? !normalized.includes(i) : d !== 1)) });
      }
      const x = entry.value;
      // Without axes, ONNX squeezes every dimension of size 1 at run time: a batch of one would lose its dimension.
      if (!axes) return call.fail('it names no axes', 'squeeze named dimensions (x.squeeze(1))');
      axes.forEach((a) => call.keepBatch(a, x.rank, 'squeezes'));
      return value(squeeze(x, axes, call.options));
    },
  },
  Concat: {
    attributes: ['axis'],
    dataInputs: 'all',
    apply(call) {
      const entries = call.node.inputs.map((_, i) => call.entry(i));
      const axis = call.int('axis', 0);
      if (entries.every((e) => e.kind === 'constant')) {
        const constants = entries.map((e) => (e as { constant: Constant }).constant);
        constants.forEach((c) => rank1(call, c, 'tensor'));
        const data = constants.flatMap((c) => c.data);
        return constant({ dtype: constants[0]!.dtype, shape: [data.length], data });
      }
      const values = call.node.inputs.map((_, i) => call.value(i));
      const a = call.keepBatch(axis, values[0]!.rank, 'concatenates');
      return value(concat(values, a, call.options));
    },
  },
  Slice: {
    attributes: ['starts', 'ends', 'axes'],
    dataInputs: [0],
    apply(call) {
      const opsetInputs = call.context.opset >= 10;
      const starts = opsetInputs ? call.ints(1, 'starts') : (call.intList('starts') ?? []);
      const ends = opsetInputs ? call.ints(2, 'ends') : (call.intList('ends') ?? []);
      const axes = opsetInputs ? (call.has(3) ? call.ints(3, 'axes') : undefined) : call.intList('axes');
      const steps = opsetInputs && call.has(4) ? call.ints(4, 'steps') : starts.map(() => 1);
      const entry = call.entry(0);
      if (entry.kind === 'constant') {
        rank1(call, entry.constant, 'tensor');
        if (axes && axes.some((a) => a !== 0 && a !== -1)) call.fail(`it slices a vector along axes [${axes}]`, 'export the model with torch.onnx.export');
        const n = entry.constant.data.length;
        const step = steps[0] ?? 1;
        const clamp = (i: number, low: number, high: number) => Math.min(Math.max(i < 0 ? i + n : i, low), high);
        const picked: Dim[] = [];
        if (step > 0) for (let i = clamp(starts[0]!, 0, n); i < clamp(ends[0]!, 0, n); i += step) picked.push(entry.constant.data[i]!);
        else for (let i = clamp(starts[0]!, -1, n - 1); i > clamp(ends[0]!, -1, n - 1); i += step) picked.push(entry.constant.data[i]!);
        return constant({ dtype: entry.constant.dtype, shape: [picked.length], data: picked });
      }
      const x = entry.value;
      if (steps.some((s) => s !== 1)) call.fail(`steps [${steps}] are not supported`, 'slice with step 1');
      (axes ?? starts.map((_, i) => i)).forEach((a) => call.keepBatch(a, x.rank, 'slices'));
      return value(slice(x, starts, ends, axes, call.options));
    },
  },
  Cast: {
    attributes: ['to'],
    dataInputs: [0],
    apply(call) {
      const to = DTYPE_OF_CODE[call.int('to', 0)];
      const entry = call.entry(0);
      if (entry.kind === 'constant') {
        if (!to) call.fail(`attribute to=${call.int('to', 0)} names an element type hw1-onnx does not hold`, 'cast to float32 or int64');
        const c = entry.constant;
        const data = c.data.map((d) => (typeof d !== 'number' ? d : to === 'int64' ? Math.trunc(d) : to === 'bool' ? Number(d !== 0) : d));
        return constant({ dtype: to, shape: c.shape, data });
      }
      // Every float in a program has its element type: a cast between float types is no change.
      if (to === 'float32' || to === 'float64') return entry;
      return call.fail('it casts a computed value to an integer or bool type, which has no gradient', 'keep the forward pass in floating point');
    },
  },
  ConstantOfShape: {
    attributes: ['value'],
    dataInputs: [],
    apply(call) {
      const shape = call.ints(0, 'shape');
      const a = call.attribute('value');
      const fill = a?.kind === 'tensor' ? constantOf(a.value) : { dtype: 'float32' as DType, shape: [1], data: [0] };
      return constant({ dtype: fill.dtype, shape, data: new Array<Dim>(size(shape)).fill(fill.data[0] ?? 0) });
    },
  },
};

function softmaxLike(op: (x: Value, axis: number, options: OpOptions) => Value): OpTranslation {
  return {
    attributes: ['axis'],
    dataInputs: [0],
    apply(call) {
      const x = call.value(0);
      const opset13 = call.context.opset >= 13;
      const axis = call.int('axis', opset13 ? -1 : 1);
      const normalized = call.keepBatch(axis, x.rank, 'normalizes');
      // Before opset 13 the op flattened the input from `axis` on: the same as along it only when it is the last.
      if (!opset13 && normalized !== x.rank - 1) call.fail(`attribute axis=${axis} of opset ${call.context.opset} normalizes over several dimensions`, 'export with opset_version=17');
      return value(op(x, axis, call.options));
    },
  };
}

/** Why an op type is not imported, and what to do instead. */
export function unsupportedOpFix(opType: string): string {
  if (['LeakyRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Erf', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'PRelu', 'Mish', 'ThresholdedRelu'].includes(opType)) {
    return 'use nn.ReLU, nn.Tanh or nn.Sigmoid, or add a gradient rule (src/autodiff/rules/) and an entry in src/nn/importOps.ts';
  }
  if (opType === 'BatchNormalization') return 'export in eval mode (model.eval()) so the exporter folds it into the convolution before it, or remove the normalization layer';
  return `use layers that export to ${Object.keys(IMPORTED_OPS).join(', ')}; or add a gradient rule (src/autodiff/rules/) and an entry in src/nn/importOps.ts`;
}
