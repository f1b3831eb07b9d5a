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

/**
 * Opset 17: the newest that Debian's ONNX checker (python3-onnx 1.12)
 * validates. A graph with an op that came later (Col2Im, opset 18, in the
 * "matmul-col2im" convolution input gradient the tuner may choose) is
 * written at that op's opset, with the ops that changed on the way written
 * the later way.
 */
export const OPSET_VERSION = 17;
/** Ops this project emits that opset 17 lacks, and the opset that has them. */
const LATER_OPS: Readonly<Record<string, number>> = { Col2Im: 18 };
/** Ops whose axes moved from an attribute to an input in opset 18 (ReduceSum moved in 13). */
const AXES_INPUT_FROM_18: ReadonlySet<string> = new Set(['ReduceMean', 'ReduceSumSquare', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp']);
/** IR version 8 is what ONNX 1.10-1.12 write for opset 17 models. */
export const IR_VERSION = 8;
export const PRODUCER_NAME = 'hw1-onnx';

export interface ModelMetadata {
  docString?: string;
  metadata?: Record<string, string>;
}

/** The opset a graph is written at: 17, or the opset of the latest op its written nodes (or a subgraph's) use. */
export function opsetOf(graph: Graph): number {
  let opset = OPSET_VERSION;
  for (const node of liveParts(graph).nodes) {
    opset = Math.max(opset, LATER_OPS[node.opType] ?? OPSET_VERSION);
    for (const attribute of Object.values(node.attributes)) if (attribute.kind === 'graph') opset = Math.max(opset, opsetOf(attribute.value));
  }
  return opset;
}

export function serializeGraph(graph: Graph, meta: ModelMetadata = {}): Uint8Array {
  const opset = opsetOf(graph);
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: opset }],
    producerName: PRODUCER_NAME,
    producerVersion: VERSION,
    docString: meta.docString ?? graph.docString,
    metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: graphProto(graph, opset),
  });
  return onnx.ModelProto.encode(model).finish();
}

function graphProto(graph: Graph, opset: number): Proto.IGraphProto {
  const { nodes, initializers, read } = liveParts(graph);
  // From opset 18 the Reduce ops above read their axes from an input: one int64 initializer each.
  const axesInputs = new Map<string, Proto.ITensorProto>();
  if (opset >= 18) {
    for (const node of nodes) {
      const axes = node.attributes.axes;
      if (AXES_INPUT_FROM_18.has(node.opType) && axes?.kind === 'ints') {
        axesInputs.set(node.name, tensorProto(`${node.name}:axes`, { dtype: 'int64', shape: [axes.value.length], data: axes.value }));
      }
    }
  }
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
    initializer: [...initializers.map(({ value, data }) => tensorProto(value.name, data)), ...axesInputs.values()],
    valueInfo: intermediates,
    node: nodes.map((node) => ({
      name: node.name,
      opType: node.opType,
      domain: '',
      input: [...node.inputs.map((input) => input?.name ?? ''), ...(axesInputs.has(node.name) ? [axesInputs.get(node.name)!.name!] : [])],
      output: writtenOutputs(node, read).map((output) => output.name),
      attribute: Object.entries(node.attributes)
        .filter(([name]) => !(name === 'axes' && axesInputs.has(node.name)))
        .map(([name, attribute]) => attributeProto(name, attribute, opset)),
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

function attributeProto(name: string, attribute: Attribute, opset: number): Proto.IAttributeProto {
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
      return { name, type: Type.GRAPH, g: graphProto(attribute.value, opset) };
  }
}
