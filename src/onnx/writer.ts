/**
 * Turns an in-memory Graph into ONNX bytes: the only module besides reader.ts
 * that touches onnx-proto. Every input, output and intermediate value gets
 * its type and shape (symbolic dimensions by name), which the ONNX checker
 * requires for outputs and Netron shows on every edge.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
import type { onnx as Proto } from 'onnx-proto';
import { ONNX_ELEMENT_TYPE } from '../ir/dtype.ts';
import { VERSION } from '../version.ts';
import type { Attribute, Graph, TensorData, Value } from '../ir/graph.ts';
import { liveParts, writtenOutputs } from '../ir/liveness.ts';

/** Opset 17: the newest that Debian's ONNX checker (python3-onnx 1.12) validates. */
export const OPSET_VERSION = 17;
/** IR version 8 is what ONNX 1.10-1.12 write for opset 17 models. */
export const IR_VERSION = 8;
export const PRODUCER_NAME = 'hw1-onnx';

export interface ModelMetadata {
  docString?: string;
  metadata?: Record<string, string>;
}

export function serializeGraph(graph: Graph, meta: ModelMetadata = {}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: VERSION,
    docString: meta.docString ?? graph.docString,
    metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: graphProto(graph),
  });
  return onnx.ModelProto.encode(model).finish();
}

function graphProto(graph: Graph): Proto.IGraphProto {
  const { nodes, initializers, read } = liveParts(graph);
  const declared = new Set<Value>([...graph.inputs, ...graph.outputs.map((o) => o.value), ...graph.outerReferences]);
  const intermediates = nodes
    .flatMap((node) => writtenOutputs(node, read))
    .filter((value) => !declared.has(value))
    .map((value) => valueInfo(value));
  return {
    name: graph.name,
    docString: graph.docString,
    input: graph.inputs.map((value) => valueInfo(value, graph.inputDocs.get(value))),
    output: graph.outputs.map((output) => valueInfo(output.value, output.docString)),
    initializer: initializers.map(({ value, data }) => tensorProto(value.name, data)),
    valueInfo: intermediates,
    node: nodes.map((node) => ({
      name: node.name,
      opType: node.opType,
      domain: '',
      input: node.inputs.map((input) => input?.name ?? ''),
      output: writtenOutputs(node, read).map((output) => output.name),
      attribute: Object.entries(node.attributes).map(([name, attribute]) => attributeProto(name, attribute)),
      docString: node.docString ?? '',
    })),
  };
}

function valueInfo(value: Value, docString?: string): Proto.IValueInfoProto {
  return {
    name: value.name,
    docString: docString ?? '',
    type: {
      tensorType: {
        elemType: ONNX_ELEMENT_TYPE[value.dtype],
        shape: { dim: value.shape.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

export function tensorProto(name: string, tensor: TensorData): Proto.ITensorProto {
  return {
    name,
    dims: tensor.shape,
    dataType: ONNX_ELEMENT_TYPE[tensor.dtype],
    rawData: rawBytes(tensor),
  };
}

/** Little-endian raw bytes, the layout ONNX's raw_data field stores. */
function rawBytes(tensor: TensorData): Uint8Array {
  const source = tensor.data;
  let typed: ArrayBufferView;
  if (tensor.dtype === 'float32') typed = source instanceof Float32Array ? source : Float32Array.from(source as ArrayLike<number>);
  else if (tensor.dtype === 'float64') typed = source instanceof Float64Array ? source : Float64Array.from(source as ArrayLike<number>);
  else if (tensor.dtype === 'int64') typed = source instanceof BigInt64Array ? source : BigInt64Array.from(Array.from(source as ArrayLike<number>, BigInt));
  else typed = Uint8Array.from(source as ArrayLike<number>);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice();
}

function attributeProto(name: string, attribute: Attribute): Proto.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  switch (attribute.kind) {
    case 'int':
      return { name, type: Type.INT, i: attribute.value };
    case 'float':
      return { name, type: Type.FLOAT, f: attribute.value };
    case 'ints':
      return { name, type: Type.INTS, ints: attribute.value };
    case 'floats':
      return { name, type: Type.FLOATS, floats: attribute.value };
    case 'string':
      return { name, type: Type.STRING, s: new TextEncoder().encode(attribute.value) };
    case 'tensor':
      return { name, type: Type.TENSOR, t: tensorProto('', attribute.value) };
    case 'graph':
      return { name, type: Type.GRAPH, g: graphProto(attribute.value) };
  }
}
