/** Element types the graph core emits, with their ONNX TensorProto codes. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';

export const ONNX_ELEMENT_TYPE: Record<DType, number> = {
  float32: 1,
  float64: 11,
  int64: 7,
  bool: 9,
};

export const DTYPE_OF_ONNX_ELEMENT_TYPE: Record<number, DType> = {
  1: 'float32',
  11: 'float64',
  7: 'int64',
  9: 'bool',
};

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** The typed array that holds a tensor of this element type. */
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : Uint8Array;

export type FloatArray = Float32Array | Float64Array;

export function floatArray(dtype: DType, length: number): FloatArray {
  if (dtype === 'float32') return new Float32Array(length);
  if (dtype === 'float64') return new Float64Array(length);
  throw new Error(`not a floating dtype: ${dtype}`);
}
