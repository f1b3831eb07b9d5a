/** Reads ONNX files back: for tests, `build` verification and tools that inspect graphs. */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
import type { onnx as Proto } from 'onnx-proto';
import { DTYPE_OF_ONNX_ELEMENT_TYPE, type DType } from '../ir/dtype.ts';
import type { Dim } from '../ir/shape.ts';

export interface ValueSignature {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface ModelSummary {
  opset: number;
  irVersion: number;
  graphName: string;
  docString: string;
  inputs: ValueSignature[];
  outputs: ValueSignature[];
  opTypes: string[];
  nodeNames: string[];
}

export function readModel(bytes: Uint8Array): ModelSummary {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const signature = (info: Proto.IValueInfoProto): ValueSignature => ({
    name: info.name ?? '',
    dtype: DTYPE_OF_ONNX_ELEMENT_TYPE[info.type?.tensorType?.elemType ?? 0] ?? ('unknown' as DType),
    shape: (info.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))),
  });
  return {
    opset: Number(model.opsetImport?.[0]?.version ?? 0),
    irVersion: Number(model.irVersion ?? 0),
    graphName: graph.name ?? '',
    docString: graph.docString ?? '',
    inputs: (graph.input ?? []).map(signature),
    outputs: (graph.output ?? []).map(signature),
    opTypes: [...new Set((graph.node ?? []).map((node) => node.opType ?? ''))].sort(),
    nodeNames: (graph.node ?? []).map((node) => node.name ?? ''),
  };
}
