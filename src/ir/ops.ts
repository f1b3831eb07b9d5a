/**
 * One function per ONNX operator (opset 17, default domain). Each adds a node
 * to its inputs' graph, infers the output dtype and static shape, and returns
 * the output value, so model code, gradient rules, losses and optimizers are
 * all written in the same vocabulary and can be differentiated again.
 */
import { isFloating, type DType } from './dtype.ts';
import type { Attribute, TensorData, Value } from './graph.ts';
import { broadcastShapes, formatShape, normalizeAxis, sameShape, staticSize, type Dim, type Shape } from './shape.ts';

export interface OpOptions {
  /** Replaces the op type as the node's local name: "dW" reads better than "Gemm_3". */
  name?: string;
  doc?: string;
}

const int = (value: number): Attribute => ({ kind: 'int', value });
const ints = (value: number[]): Attribute => ({ kind: 'ints', value });
const float = (value: number): Attribute => ({ kind: 'float', value });

function single(
  opType: string,
  inputs: (Value | null)[],
  dtype: DType,
  shape: Shape,
  attributes: Record<string, Attribute> = {},
  options: OpOptions = {},
): Value {
  const graph = inputs.find((v): v is Value => v !== null)!.graph;
  return graph.addNode(opType, inputs, [{ dtype, shape }], attributes, {
    nameHint: options.name,
    docString: options.doc,
  })[0]!;
}

function requireSameDtype(opType: string, values: Value[]): DType {
  const dtype = values[0]!.dtype;
  for (const value of values) {
    if (value.dtype !== dtype) {
      throw new Error(`${opType}: mixed element types ${values.map((v) => `${v.name}:${v.dtype}`).join(', ')}`);
    }
  }
  return dtype;
}

function requireFloat(opType: string, value: Value): void {
  if (!isFloating(value.dtype)) throw new Error(`${opType}: ${value.name} must be floating point, is ${value.dtype}`);
}

// ---------------------------------------------------------------- constants

/** A scalar constant of the same dtype as `like`. */
export function scalarLike(like: Value, value: number): Value {
  return like.graph.constant(like.dtype, [], [value]);
}

export function int64Vector(like: Value, values: number[]): Value {
  return like.graph.constant('int64', [values.length], values);
}

/** 0, 1, ..., count - 1 as int64, without storing them (a Range node). */
export function arange(like: Value, count: number, options: OpOptions = {}): Value {
  const scalar = (value: number) => like.graph.constant('int64', [], [value]);
  return single('Range', [scalar(0), scalar(count), scalar(1)], 'int64', [count], {}, options);
}

/** Zeros of x's (possibly symbolic) shape, exact in every dtype. */
export function zerosLike(x: Value, options: OpOptions = {}): Value {
  const value: TensorData = { dtype: x.dtype, shape: [1], data: x.dtype === 'int64' ? new BigInt64Array(1) : [0] };
  return single('ConstantOfShape', [shape(x)], x.dtype, x.shape, { value: { kind: 'tensor', value } }, options);
}

// ---------------------------------------------------------------- elementwise

function binary(opType: string, a: Value, b: Value, options: OpOptions): Value {
  const dtype = requireSameDtype(opType, [a, b]);
  return single(opType, [a, b], dtype, broadcastShapes([a.shape, b.shape], opType), {}, options);
}

export const add = (a: Value, b: Value, options: OpOptions = {}) => binary('Add', a, b, options);
export const sub = (a: Value, b: Value, options: OpOptions = {}) => binary('Sub', a, b, options);
export const mul = (a: Value, b: Value, options: OpOptions = {}) => binary('Mul', a, b, options);
export const div = (a: Value, b: Value, options: OpOptions = {}) => binary('Div', a, b, options);
export const pow = (a: Value, b: Value, options: OpOptions = {}) => binary('Pow', a, b, options);
export const max = (a: Value, b: Value, options: OpOptions = {}) => binary('Max', a, b, options);

function comparison(opType: string, a: Value, b: Value, options: OpOptions): Value {
  requireSameDtype(opType, [a, b]);
  return single(opType, [a, b], 'bool', broadcastShapes([a.shape, b.shape], opType), {}, options);
}

export const greater = (a: Value, b: Value, options: OpOptions = {}) => comparison('Greater', a, b, options);
export const less = (a: Value, b: Value, options: OpOptions = {}) => comparison('Less', a, b, options);
export const equal = (a: Value, b: Value, options: OpOptions = {}) => comparison('Equal', a, b, options);
export const lessOrEqual = (a: Value, b: Value, options: OpOptions = {}) => comparison('LessOrEqual', a, b, options);
export const greaterOrEqual = (a: Value, b: Value, options: OpOptions = {}) => comparison('GreaterOrEqual', a, b, options);

function logical(opType: string, a: Value, b: Value, options: OpOptions): Value {
  if (a.dtype !== 'bool' || b.dtype !== 'bool') throw new Error(`${opType}: ${a.name} and ${b.name} must be bool`);
  return single(opType, [a, b], 'bool', broadcastShapes([a.shape, b.shape], opType), {}, options);
}

export const and = (a: Value, b: Value, options: OpOptions = {}) => logical('And', a, b, options);
export const or = (a: Value, b: Value, options: OpOptions = {}) => logical('Or', a, b, options);
export function not(x: Value, options: OpOptions = {}): Value {
  if (x.dtype !== 'bool') throw new Error(`Not: ${x.name} must be bool`);
  return single('Not', [x], 'bool', x.shape, {}, options);
}

function unary(opType: string, x: Value, options: OpOptions, attributes: Record<string, Attribute> = {}): Value {
  requireFloat(opType, x);
  return single(opType, [x], x.dtype, x.shape, attributes, options);
}

export const neg = (x: Value, options: OpOptions = {}) => unary('Neg', x, options);
export const relu = (x: Value, options: OpOptions = {}) => unary('Relu', x, options);
export const tanh = (x: Value, options: OpOptions = {}) => unary('Tanh', x, options);
export const sigmoid = (x: Value, options: OpOptions = {}) => unary('Sigmoid', x, options);
export const exp = (x: Value, options: OpOptions = {}) => unary('Exp', x, options);
export const log = (x: Value, options: OpOptions = {}) => unary('Log', x, options);
export const sqrt = (x: Value, options: OpOptions = {}) => unary('Sqrt', x, options);
export const abs = (x: Value, options: OpOptions = {}) => unary('Abs', x, options);
/** -1, 0 or 1 in x's float type. */
export const sign = (x: Value, options: OpOptions = {}) => unary('Sign', x, options);
export const sin = (x: Value, options: OpOptions = {}) => unary('Sin', x, options);
export const cos = (x: Value, options: OpOptions = {}) => unary('Cos', x, options);
export const isNaN = (x: Value, options: OpOptions = {}) => single('IsNaN', [x], 'bool', x.shape, {}, options);

export function identity(x: Value, options: OpOptions = {}): Value {
  return single('Identity', [x], x.dtype, x.shape, {}, options);
}

export function where(condition: Value, whenTrue: Value, whenFalse: Value, options: OpOptions = {}): Value {
  if (condition.dtype !== 'bool') throw new Error(`Where: condition ${condition.name} must be bool`);
  const dtype = requireSameDtype('Where', [whenTrue, whenFalse]);
  const outShape = broadcastShapes([condition.shape, whenTrue.shape, whenFalse.shape], 'Where');
  return single('Where', [condition, whenTrue, whenFalse], dtype, outShape, {}, options);
}

export function cast(x: Value, to: DType, options: OpOptions = {}): Value {
  const code = { float32: 1, float64: 11, int64: 7, bool: 9 }[to];
  return single('Cast', [x], to, x.shape, { to: int(code) }, options);
}

export function softmax(x: Value, axis: number, options: OpOptions = {}): Value {
  normalizeAxis(axis, x.rank, 'Softmax');
  return unary('Softmax', x, options, { axis: int(axis) });
}

export function logSoftmax(x: Value, axis: number, options: OpOptions = {}): Value {
  normalizeAxis(axis, x.rank, 'LogSoftmax');
  return unary('LogSoftmax', x, options, { axis: int(axis) });
}

// ---------------------------------------------------------------- linear algebra

export interface GemmOptions extends OpOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** Y = alpha * A' B' + beta * C, with A' = A or its transpose (2-D only). */
export function gemm(a: Value, b: Value, c: Value | null, options: GemmOptions = {}): Value {
  const dtype = requireSameDtype('Gemm', c ? [a, b, c] : [a, b]);
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`Gemm: inputs must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const [m, kA] = options.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kB, n] = options.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (kA !== kB) throw new Error(`Gemm: inner dimensions differ (${kA} vs ${kB}) for ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (c) broadcastShapes([c.shape, [m, n]], 'Gemm bias');
  const attributes: Record<string, Attribute> = {};
  if (options.transA) attributes.transA = int(1);
  if (options.transB) attributes.transB = int(1);
  if (options.alpha !== undefined && options.alpha !== 1) attributes.alpha = float(options.alpha);
  if (options.beta !== undefined && options.beta !== 1) attributes.beta = float(options.beta);
  return single('Gemm', c ? [a, b, c] : [a, b], dtype, [m, n], attributes, options);
}

/** Numpy matmul for rank >= 2 (batch dimensions broadcast). */
export function matmul(a: Value, b: Value, options: OpOptions = {}): Value {
  const dtype = requireSameDtype('MatMul', [a, b]);
  if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: rank-1 operands are not supported (${a.name}, ${b.name})`);
  const k1 = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!;
  if (k1 !== k2) throw new Error(`MatMul: inner dimensions differ (${k1} vs ${k2}) for ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)], 'MatMul');
  return single('MatMul', [a, b], dtype, [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!], {}, options);
}

export function transpose(x: Value, perm: number[], options: OpOptions = {}): Value {
  if (perm.length !== x.rank) throw new Error(`Transpose: perm ${perm} does not fit rank ${x.rank}`);
  return single('Transpose', [x], x.dtype, perm.map((p) => x.shape[p]!), { perm: ints(perm) }, options);
}

// ---------------------------------------------------------------- shapes

export function shape(x: Value, options: OpOptions = {}): Value {
  return single('Shape', [x], 'int64', [x.rank], {}, options);
}

export function size(x: Value, options: OpOptions = {}): Value {
  return single('Size', [x], 'int64', [], {}, options);
}

/**
 * Reshape to a constant target (0 copies a dimension, -1 is inferred), or to
 * a runtime shape value whose static result the caller states.
 */
export function reshape(x: Value, target: number[] | { shape: Value; staticShape: Shape }, options: OpOptions = {}): Value {
  if (!Array.isArray(target)) return single('Reshape', [x, target.shape], x.dtype, target.staticShape, {}, options);
  const result: Dim[] = target.map((dim, i) => (dim === 0 ? x.shape[i]! : dim));
  const inferred = result.indexOf(-1);
  if (inferred >= 0) {
    const total = staticSize(x.shape);
    const known = staticSize(result.filter((_, i) => i !== inferred));
    if (total === undefined || known === undefined) {
      throw new Error(`Reshape: cannot infer -1 for ${formatShape(x.shape)} -> [${target}] with symbolic dimensions`);
    }
    if (total % known !== 0) throw new Error(`Reshape: ${formatShape(x.shape)} has ${total} elements, not a multiple of ${known} for [${target}]`);
    result[inferred] = total / known;
  }
  const totalIn = staticSize(x.shape);
  const totalOut = staticSize(result);
  if (totalIn !== undefined && totalOut !== undefined && totalIn !== totalOut) {
    throw new Error(`Reshape: ${formatShape(x.shape)} has ${totalIn} elements, [${target}] has ${totalOut}`);
  }
  return single('Reshape', [x, int64Vector(x, target)], x.dtype, result, {}, options);
}

/** Flatten to 2-D: dimensions before `axis` and after it are multiplied. */
export function flatten(x: Value, axis = 1, options: OpOptions = {}): Value {
  const product = (dims: Shape): Dim => staticSize(dims) ?? (dims.length === 1 ? dims[0]! : `${dims.join('*')}`);
  const outShape = [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))];
  return single('Flatten', [x], x.dtype, outShape, { axis: int(axis) }, options);
}

export function expand(x: Value, target: Value, staticShape: Shape, options: OpOptions = {}): Value {
  return single('Expand', [x, target], x.dtype, broadcastShapes([x.shape, staticShape], 'Expand'), {}, options);
}

export function unsqueeze(x: Value, axes: number[], options: OpOptions = {}): Value {
  const outRank = x.rank + axes.length;
  const normalized = axes.map((a) => normalizeAxis(a, outRank, 'Unsqueeze')).sort((p, q) => p - q);
  const result: Dim[] = [];
  let next = 0;
  for (let axis = 0; axis < outRank; axis++) result.push(normalized.includes(axis) ? 1 : x.shape[next++]!);
  return single('Unsqueeze', [x, int64Vector(x, normalized)], x.dtype, result, {}, options);
}

export function squeeze(x: Value, axes: number[], options: OpOptions = {}): Value {
  const normalized = axes.map((a) => normalizeAxis(a, x.rank, 'Squeeze'));
  for (const axis of normalized) {
    if (x.shape[axis] !== 1) throw new Error(`Squeeze: axis ${axis} of ${formatShape(x.shape)} is not 1`);
  }
  const result = x.shape.filter((_, axis) => !normalized.includes(axis));
  return single('Squeeze', [x, int64Vector(x, normalized)], x.dtype, result, {}, options);
}

// ---------------------------------------------------------------- slicing and indexing

/** Cuts x along `axis` into pieces of the given (static) sizes: one node, several outputs. */
export function split(x: Value, sizes: number[], axis: number, options: OpOptions = {}): Value[] {
  const normalized = normalizeAxis(axis, x.rank, 'Split');
  const total = x.shape[normalized];
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (typeof total === 'number' && total !== sum) throw new Error(`Split: sizes [${sizes}] add up to ${sum}, ${x.name} has ${total} along axis ${normalized}`);
  const outputs = sizes.map((size) => ({ dtype: x.dtype, shape: x.shape.map((dim, i) => (i === normalized ? size : dim)) }));
  return x.graph.addNode('Split', [x, int64Vector(x, sizes)], outputs, { axis: int(normalized) }, { nameHint: options.name, docString: options.doc });
}

/** Joins values along `axis`; the other dimensions must agree. */
export function concat(values: Value[], axis: number, options: OpOptions = {}): Value {
  if (values.length === 0) throw new Error('Concat: needs at least one input');
  const dtype = requireSameDtype('Concat', values);
  const first = values[0]!;
  const normalized = normalizeAxis(axis, first.rank, 'Concat');
  const describe = () => values.map((v) => `${v.name}${formatShape(v.shape)}`).join(', ');
  for (const value of values) {
    const fits = value.rank === first.rank && value.shape.every((dim, i) => i === normalized || dim === first.shape[i]);
    if (!fits) throw new Error(`Concat: shapes differ off axis ${normalized}: ${describe()}`);
  }
  const sizes = values.map((v) => v.shape[normalized]!);
  const joined: Dim = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : sizes.join('+');
  const outShape = first.shape.map((dim, i) => (i === normalized ? joined : dim));
  return single('Concat', values, dtype, outShape, { axis: int(normalized) }, options);
}

export interface SliceRange {
  axis: number;
  /** Clamped to [0, dim], as ONNX resolves negative and out-of-range bounds; end >= start. */
  start: number;
  end: number;
}

/**
 * ONNX Slice bounds (step 1) resolved against a shape: negative starts/ends
 * count from the end, then both are clamped to [0, dim]. The sliced axes
 * must have static sizes.
 */
export function resolveSlice(shape: Shape, starts: number[], ends: number[], axes?: number[], context = 'Slice'): SliceRange[] {
  const axisList = axes ?? starts.map((_, i) => i);
  if (starts.length !== ends.length || starts.length !== axisList.length) {
    throw new Error(`${context}: starts [${starts}], ends [${ends}] and axes [${axisList}] must have one entry per sliced axis`);
  }
  const seen = new Set<number>();
  return axisList.map((a, i) => {
    const axis = normalizeAxis(a, shape.length, context);
    if (seen.has(axis)) throw new Error(`${context}: axis ${axis} is sliced twice (axes [${axisList}])`);
    seen.add(axis);
    const dim = shape[axis]!;
    if (typeof dim !== 'number') {
      throw new Error(`${context}: axis ${axis} of ${formatShape(shape)} is symbolic ("${dim}"); slicing needs a static size there`);
    }
    const clamp = (bound: number) => Math.min(Math.max(bound < 0 ? bound + dim : bound, 0), dim);
    const start = clamp(starts[i]!);
    return { axis, start, end: Math.max(start, clamp(ends[i]!)) };
  });
}

/** ONNX stores bounds as int64; ±Infinity (and anything past 2^53) means "to the end". */
const int64Bound = (bound: number): number => {
  if (Number.isNaN(bound) || (Number.isFinite(bound) && !Number.isInteger(bound))) throw new Error(`Slice: bound ${bound} is not an integer`);
  return Math.min(Math.max(bound, -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
};

/**
 * x[starts:ends] along `axes` (all leading axes when omitted), step 1 only.
 * Opset 13+ takes starts, ends and axes as constant int64 inputs.
 */
export function slice(x: Value, starts: number[], ends: number[], axes?: number[], options: OpOptions = {}): Value {
  const ranges = resolveSlice(x.shape, starts, ends, axes);
  const outShape = x.shape.map((dim, axis) => {
    const range = ranges.find((r) => r.axis === axis);
    return range ? range.end - range.start : dim;
  });
  const inputs = [x, int64Vector(x, starts.map(int64Bound)), int64Vector(x, ends.map(int64Bound)), int64Vector(x, ranges.map((r) => r.axis))];
  return single('Slice', inputs, x.dtype, outShape, {}, options);
}

/**
 * Constant-mode Pad with pads [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}]
 * (non-negative; padded axes must be static), given as an int64 input (opset 11+).
 */
export function pad(x: Value, pads: number[], constantValue = 0, options: OpOptions = {}): Value {
  if (pads.length !== 2 * x.rank) throw new Error(`Pad: ${x.name}${formatShape(x.shape)} needs ${2 * x.rank} pads, got [${pads}]`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`Pad: pads [${pads}] must be non-negative integers (crop with Slice)`);
  const outShape = x.shape.map((dim, axis) => {
    const extra = pads[axis]! + pads[axis + x.rank]!;
    if (extra === 0) return dim;
    if (typeof dim !== 'number') throw new Error(`Pad: axis ${axis} of ${x.name}${formatShape(x.shape)} is symbolic; padding needs a static size there`);
    return dim + extra;
  });
  const inputs = constantValue === 0 ? [x, int64Vector(x, pads)] : [x, int64Vector(x, pads), scalarLike(x, constantValue)];
  return single('Pad', inputs, x.dtype, outShape, {}, options);
}

function requireIndices(opType: string, indices: Value): void {
  if (indices.dtype !== 'int64') throw new Error(`${opType}: indices ${indices.name} must be int64, is ${indices.dtype}`);
}

/** Takes slices of data along `axis`: output shape data[:axis] + indices.shape + data[axis+1:]. */
export function gather(data: Value, indices: Value, axis = 0, options: OpOptions = {}): Value {
  requireIndices('Gather', indices);
  const a = normalizeAxis(axis, data.rank, 'Gather');
  const outShape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return single('Gather', [data, indices], data.dtype, outShape, { axis: int(a) }, options);
}

/** out[i][j] = data[indices[i][j]][j] for axis 0 (and so on): indices and data have one rank, out has indices' shape. */
export function gatherElements(data: Value, indices: Value, axis = 0, options: OpOptions = {}): Value {
  requireIndices('GatherElements', indices);
  if (indices.rank !== data.rank) {
    throw new Error(`GatherElements: indices ${formatShape(indices.shape)} and data ${formatShape(data.shape)} must have the same rank`);
  }
  const a = normalizeAxis(axis, data.rank, 'GatherElements');
  return single('GatherElements', [data, indices], data.dtype, indices.shape, { axis: int(a) }, options);
}

export interface ScatterElementsOptions extends OpOptions {
  axis?: number;
  /** 'none' overwrites (repeated indices are undefined), 'add' accumulates (opset 16+). */
  reduction?: 'none' | 'add';
}

/** A copy of data with updates written at indices along `axis` (the inverse of GatherElements). */
export function scatterElements(data: Value, indices: Value, updates: Value, options: ScatterElementsOptions = {}): Value {
  requireIndices('ScatterElements', indices);
  requireSameDtype('ScatterElements', [data, updates]);
  if (indices.rank !== data.rank || !sameShape(indices.shape, updates.shape)) {
    throw new Error(
      `ScatterElements: indices ${formatShape(indices.shape)} and updates ${formatShape(updates.shape)} must have one shape, of data's rank (${formatShape(data.shape)})`,
    );
  }
  const attributes: Record<string, Attribute> = { axis: int(normalizeAxis(options.axis ?? 0, data.rank, 'ScatterElements')) };
  if (options.reduction && options.reduction !== 'none') attributes.reduction = { kind: 'string', value: options.reduction };
  return single('ScatterElements', [data, indices, updates], data.dtype, data.shape, attributes, options);
}

// ---------------------------------------------------------------- reductions

function reducedShape(x: Value, axes: number[] | undefined, keepdims: boolean, opType: string): Shape {
  const reduced = axes === undefined ? x.shape.map((_, i) => i) : axes.map((a) => normalizeAxis(a, x.rank, opType));
  if (keepdims) return x.shape.map((dim, i) => (reduced.includes(i) ? 1 : dim));
  return x.shape.filter((_, i) => !reduced.includes(i));
}

/** Sum over `axes` (all axes when omitted). Opset 13+ takes the axes as an input. */
export function reduceSum(x: Value, axes?: number[], keepdims = false, options: OpOptions = {}): Value {
  const inputs = axes === undefined ? [x] : [x, int64Vector(x, axes)];
  return single('ReduceSum', inputs, x.dtype, reducedShape(x, axes, keepdims, 'ReduceSum'), { keepdims: int(keepdims ? 1 : 0) }, options);
}

/** Mean over `axes` (all when omitted). Opset 17 still takes the axes as an attribute. */
export function reduceMean(x: Value, axes?: number[], keepdims = false, options: OpOptions = {}): Value {
  const attributes: Record<string, Attribute> = { keepdims: int(keepdims ? 1 : 0) };
  if (axes !== undefined) attributes.axes = ints(axes);
  return single('ReduceMean', [x], x.dtype, reducedShape(x, axes, keepdims, 'ReduceMean'), attributes, options);
}

/** Sum of squares over `axes` (all when omitted), one pass with no squared temporary. Opset 17 takes axes as an attribute. */
export function reduceSumSquare(x: Value, axes?: number[], keepdims = false, options: OpOptions = {}): Value {
  const attributes: Record<string, Attribute> = { keepdims: int(keepdims ? 1 : 0) };
  if (axes !== undefined) attributes.axes = ints(axes);
  return single('ReduceSumSquare', [x], x.dtype, reducedShape(x, axes, keepdims, 'ReduceSumSquare'), attributes, options);
}

export function argMax(x: Value, axis: number, keepdims = false, options: OpOptions = {}): Value {
  const shapeOut = reducedShape(x, [axis], keepdims, 'ArgMax');
  return single('ArgMax', [x], 'int64', shapeOut, { axis: int(axis), keepdims: int(keepdims ? 1 : 0) }, options);
}
