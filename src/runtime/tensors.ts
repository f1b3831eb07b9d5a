import * as ort from 'onnxruntime-node';
import type { DType } from '../ir/dtype.ts';

export type HostArray = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export function tensorOf(dtype: DType, data: HostArray, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(dtype === 'float64' ? 'float64' : dtype === 'int64' ? 'int64' : dtype === 'bool' ? 'bool' : 'float32', data as never, dims);
}

/** A scalar tensor: learning rates and step counters are graph inputs, not constants. */
export function scalarTensor(dtype: DType, value: number): ort.Tensor {
  if (dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.of(BigInt(value)), []);
  if (dtype === 'float64') return new ort.Tensor('float64', Float64Array.of(value), []);
  return new ort.Tensor('float32', Float32Array.of(value), []);
}

export function scalarOf(tensor: ort.Tensor): number {
  const value = (tensor.data as ArrayLike<number | bigint>)[0]!;
  return typeof value === 'bigint' ? Number(value) : value;
}
