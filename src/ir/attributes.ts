import type { Node, Value } from './graph.ts';

export function intAttribute(node: Node, name: string, fallback: number): number {
  const attribute = node.attributes[name];
  return attribute?.kind === 'int' ? attribute.value : fallback;
}

export function floatAttribute(node: Node, name: string, fallback: number): number {
  const attribute = node.attributes[name];
  return attribute?.kind === 'float' ? attribute.value : fallback;
}

export function intsAttribute(node: Node, name: string): number[] | undefined {
  const attribute = node.attributes[name];
  return attribute?.kind === 'ints' ? attribute.value : undefined;
}

/** The numbers of a constant int64 input (axes, shapes), which rules need at build time. */
export function constantInts(value: Value | null | undefined): number[] | undefined {
  if (!value) return undefined;
  const initializer = value.graph.initializers.find((entry) => entry.value === value);
  if (!initializer || initializer.data.dtype !== 'int64') return undefined;
  return Array.from(initializer.data.data as BigInt64Array, (x) => Number(x));
}

/** The numbers of any constant input (a float ratio, say), or undefined for a computed value. */
export function constantNumbers(value: Value | null | undefined): number[] | undefined {
  if (!value) return undefined;
  const initializer = value.graph.initializers.find((entry) => entry.value === value);
  if (!initializer) return undefined;
  return Array.from(initializer.data.data as ArrayLike<number | bigint>, (x) => Number(x));
}
