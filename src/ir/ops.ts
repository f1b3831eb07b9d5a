/**
 * One function per ONNX operator (opset 17, default domain). Each adds a node
 * to its inputs' graph, infers the output dtype and static shape, and returns
 * the output value, so model code, gradient rules, losses and optimizers are
 * all written in the same vocabulary and can be differentiated again.
 */
import { isFloating, type DType } from './dtype.ts';
import type { Attribute, TensorData, Value } from './graph.ts';
import { broadcastShapes, formatShape, normalizeAxis, staticSize, type Dim, type Shape } from './shape.ts';

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

export function argMax(x: Value, axis: number, keepdims = false, options: OpOptions = {}): Value {
  const shapeOut = reducedShape(x, [axis], keepdims, 'ArgMax');
  return single('ArgMax', [x], 'int64', shapeOut, { axis: int(axis), keepdims: int(keepdims ? 1 : 0) }, options);
}
