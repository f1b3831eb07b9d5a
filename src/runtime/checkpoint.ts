/**
 * Weights in the safetensors format (an 8-byte little-endian header length,
 * a JSON header, then raw little-endian data), which PyTorch users load with
 * `safetensors.torch.load_file` straight into a state_dict.
 */
import { readFileSync } from 'node:fs';
import type { FloatArray } from '../ir/dtype.ts';
import type { Model } from '../nn/model.ts';
import { writeFileAtomic } from '../util/atomicWrite.ts';
import { DataError } from '../util/errors.ts';

export interface NamedTensor {
  shape: readonly number[];
  data: FloatArray;
}

export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const bytes = tensor.data.byteLength;
    header[name] = { dtype: tensor.data instanceof Float64Array ? 'F64' : 'F32', shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Spaces pad the header (counted in bytes: metadata may be non-ASCII) so the data starts 8-byte aligned.
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const bytes = readFileSync(path);
  const corrupt = (why: string) => new DataError(`corrupt weights file ${path}: ${why}; re-run the training that wrote it`);
  if (bytes.length < 8) throw corrupt('shorter than its header');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw corrupt('header runs past the end');
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw corrupt('header is not JSON');
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as unknown as Record<string, string>;
      continue;
    }
    const [start, end] = entry.data_offsets;
    if (base + end > bytes.length) throw corrupt(`tensor ${name} runs past the end (truncated?)`);
    const slice = bytes.buffer.slice(bytes.byteOffset + base + start, bytes.byteOffset + base + end);
    if (entry.dtype !== 'F32' && entry.dtype !== 'F64') throw corrupt(`tensor ${name} has unsupported dtype ${entry.dtype}`);
    tensors.set(name, { shape: entry.shape, data: entry.dtype === 'F64' ? new Float64Array(slice) : new Float32Array(slice) });
  }
  return { tensors, metadata };
}

/** A model's parameters, in its parameter order and PyTorch layouts, as safetensors (atomically). */
export function writeModelWeights(path: string, model: Model, weights: ReadonlyMap<string, FloatArray>, metadata: Record<string, string> = {}): void {
  const tensors = new Map(model.parameters.map((p) => [p.name, { shape: p.shape, data: weights.get(p.name)! }]));
  writeSafetensors(path, tensors, { model: model.name, ...metadata });
}

/**
 * The parameters of `model` read back from a safetensors file, checked against
 * its names and shapes (tensors the model lacks are ignored); a mismatch is
 * one line naming the parameter and both shapes, under `label` (the path by default).
 */
export function readModelWeights(path: string, model: Model, label = path): Map<string, FloatArray> {
  const { tensors } = readSafetensors(path);
  const weights = new Map<string, FloatArray>();
  for (const parameter of model.parameters) {
    const tensor = tensors.get(parameter.name);
    if (!tensor) {
      const present = [...tensors.keys()].slice(0, 6).join(', ');
      throw new DataError(`${label}: ${parameter.name} is missing from the file (it has: ${present || 'no tensors'}), the model ${model.name} wants [${parameter.shape.join(', ')}]`);
    }
    if (tensor.shape.join(',') !== parameter.shape.join(',')) {
      throw new DataError(`${label}: ${parameter.name} is [${tensor.shape.join(', ')}] in the file, the model ${model.name} wants [${parameter.shape.join(', ')}]`);
    }
    weights.set(parameter.name, tensor.data);
  }
  return weights;
}
