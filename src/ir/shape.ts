/**
 * Static shapes with symbolic dimensions: a number is a known size, a string
 * names a size fixed only at run time (the batch, "N"). Two equal strings are
 * the same size, which is what lets broadcasting and gradient reduction be
 * decided while the graph is built.
 */
export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((dim) => typeof dim === 'number');
}

/** Number of elements, or undefined when a dimension is symbolic. */
export function staticSize(shape: Shape): number | undefined {
  let size = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number') return undefined;
    size *= dim;
  }
  return size;
}

/** Numpy-style multidirectional broadcasting, as ONNX's Add, Mul, Where. */
export function broadcastShapes(shapes: Shape[], context: string): Shape {
  const rank = Math.max(...shapes.map((shape) => shape.length));
  const result: Dim[] = [];
  for (let axis = 0; axis < rank; axis++) {
    let dim: Dim = 1;
    for (const shape of shapes) {
      const offset = rank - shape.length;
      if (axis < offset) continue;
      const candidate = shape[axis - offset]!;
      if (candidate === 1) continue;
      if (dim === 1) dim = candidate;
      else if (dim !== candidate) {
        throw new Error(`${context}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast`);
      }
    }
    result.push(dim);
  }
  return result;
}

export function normalizeAxis(axis: number, rank: number, context: string): number {
  const normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank) {
    throw new Error(`${context}: axis ${axis} is out of range for rank ${rank}`);
  }
  return normalized;
}
