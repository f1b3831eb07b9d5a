/**
 * Builder functions for the 2-D spatial ops (Conv, ConvTranspose, MaxPool,
 * AveragePool, Col2Im) and Dropout, with ONNX opset-17 semantics (Col2Im is
 * opset 18's). Spatial sizes must be static (the batch may be symbolic):
 * gradient rules need them to choose output paddings and crops while the
 * graph is built.
 */
import type { Attribute, Value } from './graph.ts';
import { formatShape, type Dim } from './shape.ts';
import { shape, type OpOptions } from './ops.ts';

export interface Conv2dAttributes {
  strides?: [number, number];
  /** [top, left, bottom, right], as ONNX orders them. */
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

export interface ResolvedConv2d {
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

const ints = (value: number[]): Attribute => ({ kind: 'ints', value });
const int = (value: number): Attribute => ({ kind: 'int', value });

export function resolveConv2d(attributes: Conv2dAttributes = {}): ResolvedConv2d {
  return {
    strides: attributes.strides ?? [1, 1],
    pads: attributes.pads ?? [0, 0, 0, 0],
    dilations: attributes.dilations ?? [1, 1],
    group: attributes.group ?? 1,
  };
}

function staticSpatial(opType: string, x: Value): [number, number] {
  const [h, w] = [x.shape[2], x.shape[3]];
  if (x.rank !== 4 || typeof h !== 'number' || typeof w !== 'number') {
    throw new Error(`${opType}: input ${x.name} must be [N, C, H, W] with static H and W, got ${formatShape(x.shape)}`);
  }
  return [h, w];
}

function convAttributes(c: ResolvedConv2d, kernel: [number, number]): Record<string, Attribute> {
  return { kernel_shape: ints(kernel), strides: ints(c.strides), pads: ints(c.pads), dilations: ints(c.dilations), group: int(c.group) };
}

/** Output size of a convolution or pooling window along one axis. */
export function convOutputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation = 1, ceil = false): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

/** Y = conv(X, W) + B with W of shape [C_out, C_in / group, kH, kW] (PyTorch's layout). */
export function conv(x: Value, w: Value, b: Value | null, attributes: Conv2dAttributes = {}, options: OpOptions = {}): Value {
  const c = resolveConv2d(attributes);
  const [h, wd] = staticSpatial('Conv', x);
  const [outChannels, inPerGroup, kh, kw] = w.shape;
  if (w.rank !== 4 || typeof kh !== 'number' || typeof kw !== 'number') {
    throw new Error(`Conv: weight ${w.name} must be [C_out, C_in/group, kH, kW] with a static kernel, got ${formatShape(w.shape)}`);
  }
  const inChannels = x.shape[1]!;
  // A symbolic channel count (the batch, in a weight-gradient convolution) must match by name.
  if (typeof inChannels === 'number' ? inChannels / c.group !== inPerGroup : inPerGroup !== inChannels) {
    throw new Error(`Conv: input ${formatShape(x.shape)} has ${inChannels} channels, weight ${formatShape(w.shape)} expects ${inPerGroup} per group (group ${c.group})`);
  }
  const outH = convOutputSize(h, kh, c.strides[0], c.pads[0], c.pads[2], c.dilations[0]);
  const outW = convOutputSize(wd, kw, c.strides[1], c.pads[1], c.pads[3], c.dilations[1]);
  if (outH < 1 || outW < 1) throw new Error(`Conv: a ${kh}x${kw} kernel does not fit input ${formatShape(x.shape)} with these pads`);
  if (x.dtype !== w.dtype || (b && b.dtype !== x.dtype)) throw new Error('Conv: mixed element types');
  const inputs = b ? [x, w, b] : [x, w];
  return x.graph.addNode('Conv', inputs, [{ dtype: x.dtype, shape: [x.shape[0]!, outChannels!, outH, outW] }], convAttributes(c, [kh, kw]), {
    nameHint: options.name,
    docString: options.doc,
  })[0]!;
}

/**
 * The adjoint of Conv: W is [C_in, C_out / group, kH, kW]. `outputPadding`
 * adds rows and columns at the end, which a strided convolution's input may
 * have had without reaching any output.
 */
export function convTranspose(
  x: Value,
  w: Value,
  b: Value | null,
  attributes: Conv2dAttributes & { outputPadding?: [number, number] } = {},
  options: OpOptions = {},
): Value {
  const c = resolveConv2d(attributes);
  const outputPadding = attributes.outputPadding ?? [0, 0];
  const [h, wd] = staticSpatial('ConvTranspose', x);
  const [inChannels, outPerGroup, kh, kw] = w.shape as number[];
  if (x.shape[1] !== inChannels && typeof x.shape[1] === 'number') {
    throw new Error(`ConvTranspose: input ${formatShape(x.shape)} has ${x.shape[1]} channels, weight ${formatShape(w.shape)} expects ${inChannels}`);
  }
  for (let axis = 0; axis < 2; axis++) {
    // ONNX allows up to max(stride, dilation) - 1; the gradient rule's adjoint Conv needs it below the stride.
    if (outputPadding[axis]! >= c.strides[axis]!) {
      throw new Error(`ConvTranspose: output padding ${outputPadding} must be smaller than the stride ${c.strides}`);
    }
  }
  const size = (n: number, k: number, axis: 0 | 1) =>
    c.strides[axis] * (n - 1) + outputPadding[axis] + c.dilations[axis] * (k - 1) + 1 - c.pads[axis] - c.pads[axis + 2]!;
  const outChannels: Dim = typeof outPerGroup === 'number' ? outPerGroup * c.group : outPerGroup!;
  const attrs = convAttributes(c, [kh!, kw!]);
  if (outputPadding[0] || outputPadding[1]) attrs.output_padding = ints(outputPadding);
  return x.graph.addNode('ConvTranspose', b ? [x, w, b] : [x, w], [{ dtype: x.dtype, shape: [x.shape[0]!, outChannels, size(h, kh!, 0), size(wd, kw!, 1)] }], attrs, {
    nameHint: options.name,
    docString: options.doc,
  })[0]!;
}

/**
 * Col2Im (opset 18, float32 only in onnxruntime): columns [N, C·kH·kW, L],
 * channel major then kernel offset, L the windows in row-major order, each
 * summed into its place in an image [N, C, H, W]: the adjoint of im2col.
 * Window positions in the padding are dropped, and image positions no window
 * reaches stay zero.
 */
export function col2im(columns: Value, image: [number, number], kernel: [number, number], attributes: Conv2dAttributes = {}, options: OpOptions = {}): Value {
  const c = resolveConv2d(attributes);
  const [batch, rows, windows] = columns.shape;
  const blocks = kernel[0] * kernel[1];
  if (columns.rank !== 3 || typeof rows !== 'number' || rows % blocks !== 0) {
    throw new Error(`Col2Im: columns ${columns.name} must be [N, C·${kernel.join('·')}, L] with static channels, got ${formatShape(columns.shape)}`);
  }
  const outH = convOutputSize(image[0], kernel[0], c.strides[0], c.pads[0], c.pads[2], c.dilations[0]);
  const outW = convOutputSize(image[1], kernel[1], c.strides[1], c.pads[1], c.pads[3], c.dilations[1]);
  if (windows !== outH * outW) throw new Error(`Col2Im: ${formatShape(columns.shape)} has ${windows} windows, a ${kernel.join('x')} window over ${image.join('x')} makes ${outH * outW}`);
  const graph = columns.graph;
  return graph.addNode(
    'Col2Im',
    [columns, graph.constant('int64', [2], image), graph.constant('int64', [2], kernel)],
    [{ dtype: columns.dtype, shape: [batch!, rows / blocks, image[0], image[1]] }],
    { dilations: ints(c.dilations), pads: ints(c.pads), strides: ints(c.strides) },
    { nameHint: options.name, docString: options.doc },
  )[0]!;
}

export interface Pool2dAttributes {
  kernel: [number, number];
  strides?: [number, number];
  pads?: [number, number, number, number];
}

function poolShape(opType: string, x: Value, p: Required<Pool2dAttributes>): Dim[] {
  const [h, w] = staticSpatial(opType, x);
  const outH = convOutputSize(h, p.kernel[0], p.strides[0], p.pads[0], p.pads[2]);
  const outW = convOutputSize(w, p.kernel[1], p.strides[1], p.pads[1], p.pads[3]);
  if (outH < 1 || outW < 1) throw new Error(`${opType}: a ${p.kernel.join('x')} window does not fit input ${formatShape(x.shape)}`);
  return [x.shape[0]!, x.shape[1]!, outH, outW];
}

export function resolvePool2d(attributes: Pool2dAttributes): Required<Pool2dAttributes> {
  return { kernel: attributes.kernel, strides: attributes.strides ?? attributes.kernel, pads: attributes.pads ?? [0, 0, 0, 0] };
}

/**
 * MaxPool with its Indices output (flat positions in N*C*H*W), which the gradient
 * rule scatters through. The writer leaves Indices out of a graph that does not
 * read them (liveness.ts): onnxruntime pools much faster without them.
 */
export function maxPool(x: Value, attributes: Pool2dAttributes, options: OpOptions = {}): { y: Value; indices: Value } {
  const p = resolvePool2d(attributes);
  const shape = poolShape('MaxPool', x, p);
  const [y, indices] = x.graph.addNode(
    'MaxPool',
    [x],
    [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }],
    { kernel_shape: ints(p.kernel), strides: ints(p.strides), pads: ints(p.pads) },
    { nameHint: options.name, docString: options.doc },
  );
  return { y: y!, indices: indices! };
}

/**
 * MaxPool's adjoint for windows that do not overlap: x (shaped as MaxPool's
 * output) placed at `indices` (MaxPool's Indices output, flat over N·C·H·W)
 * in zeros of `like`'s shape. Overlapping windows can share an index, which
 * MaxUnpool overwrites instead of summing: callers use a scatter-add there.
 */
export function maxUnpool(x: Value, indices: Value, like: Value, attributes: Pool2dAttributes, options: OpOptions = {}): Value {
  const p = resolvePool2d(attributes);
  if (p.strides[0] < p.kernel[0] || p.strides[1] < p.kernel[1]) throw new Error(`MaxUnpool: windows ${p.kernel} overlap at strides ${p.strides}`);
  return x.graph.addNode('MaxUnpool', [x, indices, shape(like)], [{ dtype: x.dtype, shape: like.shape }], { kernel_shape: ints(p.kernel), strides: ints(p.strides), pads: ints(p.pads) }, {
    nameHint: options.name,
    docString: options.doc,
  })[0]!;
}

/** AveragePool counting padded positions, as PyTorch's AvgPool2d default (count_include_pad=True). */
export function averagePool(x: Value, attributes: Pool2dAttributes, options: OpOptions = {}): Value {
  const p = resolvePool2d(attributes);
  return x.graph.addNode(
    'AveragePool',
    [x],
    [{ dtype: x.dtype, shape: poolShape('AveragePool', x, p) }],
    { kernel_shape: ints(p.kernel), strides: ints(p.strides), pads: ints(p.pads), count_include_pad: int(1) },
    { nameHint: options.name, docString: options.doc },
  )[0]!;
}

/**
 * Dropout in training mode: zeroes each element with probability `ratio` and
 * scales the rest by 1/(1-ratio), as torch.nn.Dropout. The seed makes the
 * sequence of masks reproducible; the mask output feeds the gradient rule.
 */
export function dropout(x: Value, ratio: number, seed: number, options: OpOptions = {}): { y: Value; mask: Value } {
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`Dropout: ratio must be in [0, 1), got ${ratio}`);
  const graph = x.graph;
  const [y, mask] = graph.addNode(
    'Dropout',
    [x, graph.constant(x.dtype, [], [ratio]), graph.constant('bool', [], [1])],
    [{ dtype: x.dtype, shape: x.shape }, { dtype: 'bool', shape: x.shape }],
    { seed: int(seed) },
    { nameHint: options.name, docString: options.doc },
  );
  return { y: y!, mask: mask! };
}
