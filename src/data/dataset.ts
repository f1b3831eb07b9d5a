/**
 * What the trainer consumes: inputs as one row-major Float32Array, and either
 * class labels (classification) or float targets (regression). MNIST's
 * ClassificationSet already has this shape.
 */
export interface Dataset {
  readonly name: string;
  readonly count: number;
  readonly inputShape: readonly number[];
  readonly inputs: Float32Array;
  /** Class indices, for classification. */
  readonly labels?: Uint8Array;
  /** Row-major [count, targetWidth] targets, for regression. */
  readonly targets?: Float32Array;
  readonly targetWidth?: number;
}

export function inputSize(dataset: Dataset): number {
  return dataset.inputShape.reduce((a, b) => a * b, 1);
}

/** Copies the rows order[start..end) into reusable batch buffers. */
export function gatherBatch(
  dataset: Dataset,
  order: ArrayLike<number>,
  start: number,
  end: number,
  x: Float32Array | Float64Array,
  target: BigInt64Array | Float32Array | Float64Array,
): void {
  const width = inputSize(dataset);
  const targetWidth = dataset.targetWidth ?? 1;
  for (let row = start; row < end; row++) {
    const index = order[row]!;
    const offset = (row - start) * width;
    if (x instanceof Float32Array) x.set(dataset.inputs.subarray(index * width, (index + 1) * width), offset);
    else for (let j = 0; j < width; j++) x[offset + j] = dataset.inputs[index * width + j]!;
    if (dataset.labels) (target as BigInt64Array)[row - start] = BigInt(dataset.labels[index]!);
    else for (let j = 0; j < targetWidth; j++) (target as Float32Array)[(row - start) * targetWidth + j] = dataset.targets![index * targetWidth + j]!;
  }
}

const int64Labels = new WeakMap<Dataset, BigInt64Array>();

/**
 * Rows start..end in data set order as views, without copying, where the
 * data set's own arrays can be fed as they are: float32 inputs, and the
 * labels widened to int64 once per data set. null for float64 graphs, whose
 * inputs must be converted anyway.
 */
export function contiguousRows(
  dataset: Dataset,
  start: number,
  end: number,
  dtype: 'float32' | 'float64',
): { x: Float32Array; target: BigInt64Array | Float32Array } | null {
  if (dtype !== 'float32') return null;
  const width = inputSize(dataset);
  const x = dataset.inputs.subarray(start * width, end * width);
  if (dataset.labels) {
    let labels = int64Labels.get(dataset);
    if (!labels) {
      labels = BigInt64Array.from(dataset.labels, (label) => BigInt(label));
      int64Labels.set(dataset, labels);
    }
    return { x, target: labels.subarray(start, end) };
  }
  const targetWidth = dataset.targetWidth ?? 1;
  return { x, target: dataset.targets!.subarray(start * targetWidth, end * targetWidth) };
}
