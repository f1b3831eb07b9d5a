/**
 * Decodes an ONNX file written elsewhere (torch.onnx.export) into plain data:
 * inputs, outputs, initializers as typed arrays, nodes with tagged
 * attributes. The importer (src/nn/imported.ts) reads only this; like
 * reader.ts and writer.ts, this is the only code that touches onnx-proto.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
import type { onnx as Proto } from 'onnx-proto';
import type { DType } from '../ir/dtype.ts';
import type { Dim } from '../ir/shape.ts';

export interface DecodedTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

/** A node attribute; kinds hw1-onnx never reads (subgraphs, sparse tensors, strings lists) keep only their type name. */
export type DecodedAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: DecodedTensor }
  | { kind: 'other'; type: string };

export interface DecodedNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** '' stands for an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, DecodedAttribute>>;
}

export interface DecodedValueInfo {
  readonly name: string;
  /** The ONNX element type code (1 float, 7 int64, ...). */
  readonly elemType: number;
  /** Static sizes as numbers, named dimensions as their name, unknown ones as '?'. */
  readonly shape: Dim[] | undefined;
}

export interface DecodedModel {
  /** The default domain's opset. */
  readonly opset: number;
  readonly otherDomains: string[];
  readonly producer: string;
  readonly inputs: DecodedValueInfo[];
  readonly outputs: DecodedValueInfo[];
  /** In file order. */
  readonly initializers: ReadonlyArray<{ name: string; tensor: DecodedTensor }>;
  readonly nodes: DecodedNode[];
}

/** The decoder's complaint about one thing in the file (a tensor's type, external data); the importer words it for the user. */
export class DecodeError extends Error {}

const toNumber = (value: number | { toNumber(): number } | null | undefined): number =>
  value === null || value === undefined ? 0 : typeof value === 'number' ? value : value.toNumber();

const ELEMENT_NAMES: Record<number, string> = { 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 8: 'string', 10: 'float16', 12: 'uint32', 13: 'uint64', 16: 'bfloat16' };

export function elementTypeName(code: number): string {
  return { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' }[code] ?? ELEMENT_NAMES[code] ?? `type ${code}`;
}

export function decodeTensor(tensor: Proto.ITensorProto, what: string): DecodedTensor {
  const shape = (tensor.dims ?? []).map(toNumber);
  const size = shape.reduce((a, b) => a * b, 1);
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new DecodeError(`${what} keeps its data in an external file; export it into one file (the model is small enough)`);
  }
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  // raw_data is little-endian; copy it (new Uint8Array: a Buffer's slice() shares memory) so the typed array starts aligned.
  const rawView = <T>(make: (buffer: ArrayBuffer) => T, bytes: number): T => {
    if (raw!.length !== size * bytes) throw new DecodeError(`${what} holds ${raw!.length} bytes, its shape [${shape}] needs ${size * bytes}`);
    return make(new Uint8Array(raw!).buffer as ArrayBuffer);
  };
  const code = tensor.dataType ?? 0;
  const check = (length: number) => {
    if (length !== size) throw new DecodeError(`${what} holds ${length} values, its shape [${shape}] needs ${size}`);
  };
  switch (code) {
    case 1: {
      const data = raw ? rawView((b) => new Float32Array(b), 4) : Float32Array.from(tensor.floatData ?? []);
      check(data.length);
      return { dtype: 'float32', shape, data };
    }
    case 11: {
      const data = raw ? rawView((b) => new Float64Array(b), 8) : Float64Array.from(tensor.doubleData ?? []);
      check(data.length);
      return { dtype: 'float64', shape, data };
    }
    case 7: {
      const data = raw ? rawView((b) => new BigInt64Array(b), 8) : BigInt64Array.from((tensor.int64Data ?? []).map((v) => BigInt(toNumber(v))));
      check(data.length);
      return { dtype: 'int64', shape, data };
    }
    case 6: {
      const ints = raw ? rawView((b) => new Int32Array(b), 4) : Int32Array.from(tensor.int32Data ?? []);
      check(ints.length);
      return { dtype: 'int64', shape, data: BigInt64Array.from(ints, (v) => BigInt(v)) };
    }
    case 9: {
      const data = raw ? rawView((b) => new Uint8Array(b), 1) : Uint8Array.from(tensor.int32Data ?? []);
      check(data.length);
      return { dtype: 'bool', shape, data };
    }
    default:
      throw new DecodeError(`${what} is ${elementTypeName(code)}; export the model in float32`);
  }
}

function decodeAttribute(attribute: Proto.IAttributeProto, what: string): DecodedAttribute {
  const Type = onnx.AttributeProto.AttributeType;
  switch (attribute.type) {
    case Type.INT:
      return { kind: 'int', value: toNumber(attribute.i) };
    case Type.FLOAT:
      return { kind: 'float', value: attribute.f ?? 0 };
    case Type.INTS:
      return { kind: 'ints', value: (attribute.ints ?? []).map(toNumber) };
    case Type.FLOATS:
      return { kind: 'floats', value: [...(attribute.floats ?? [])] };
    case Type.STRING:
      return { kind: 'string', value: new TextDecoder().decode(attribute.s ?? new Uint8Array()) };
    case Type.TENSOR:
      return { kind: 'tensor', value: decodeTensor(attribute.t ?? {}, `${what}'s tensor`) };
    default:
      return { kind: 'other', type: Type[attribute.type ?? 0] ?? String(attribute.type) };
  }
}

function valueInfo(info: Proto.IValueInfoProto): DecodedValueInfo {
  const tensorType = info.type?.tensorType;
  const dims = tensorType?.shape?.dim;
  return {
    name: info.name ?? '',
    elemType: tensorType?.elemType ?? 0,
    shape: dims ? dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : '?')) : undefined,
  };
}

/**
 * Decodes the bytes of a .onnx file. Bytes that are not a ModelProto throw
 * protobuf's error; a tensor the importer cannot hold throws a DecodeError.
 */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new DecodeError('the file holds no graph');
  const opsets = model.opsetImport ?? [];
  const standard = opsets.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    opset: toNumber(standard?.version),
    otherDomains: opsets.map((o) => o.domain ?? '').filter((d) => d !== '' && d !== 'ai.onnx'),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: (graph.input ?? []).map(valueInfo),
    outputs: (graph.output ?? []).map(valueInfo),
    initializers: (graph.initializer ?? []).map((t) => ({ name: t.name ?? '', tensor: decodeTensor(t, `initializer "${t.name}"`) })),
    nodes: (graph.node ?? []).map((node, index) => {
      const name = node.name || `${node.opType}_${index}`;
      return {
        name,
        opType: node.opType ?? '',
        domain: node.domain ?? '',
        inputs: [...(node.input ?? [])],
        outputs: [...(node.output ?? [])],
        attributes: Object.fromEntries((node.attribute ?? []).map((a) => [a.name ?? '', decodeAttribute(a, `node "${name}" attribute ${a.name}`)])),
      };
    }),
  };
}
