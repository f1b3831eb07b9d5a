/**
 * ONNX Loop: runs a body graph a number of times inside one session call,
 * carrying values from one iteration to the next and stacking per-iteration
 * outputs. Used to run several training steps per call where per-call
 * overhead dominates (small networks).
 */
import type { Graph, Value } from './graph.ts';
import type { Dim, Shape } from './shape.ts';
import { formatShape } from './shape.ts';

export interface LoopResult {
  /** The carried values after the last iteration, in carried order. */
  finals: Value[];
  /** Per-iteration outputs stacked along a new first axis of size `trips`. */
  scans: Value[];
}

/**
 * Loop(M, cond, carried...) with `body` taking (iteration int64 [],
 * condition bool [], carried...) and returning (condition, carried...,
 * scans...). `trips` names the trip count's dimension in the stacked shapes.
 */
export function loop(
  tripCount: Value,
  carried: readonly Value[],
  body: Graph,
  trips: Dim,
  options: { name?: string; /** A bool scalar; with it the body's condition output can end the loop early. */ condition?: Value } = {},
): LoopResult {
  const graph = tripCount.graph;
  if (tripCount.dtype !== 'int64' || tripCount.rank !== 0) throw new Error(`Loop: the trip count ${tripCount.name} must be an int64 scalar`);
  const expectedInputs = 2 + carried.length;
  if (body.inputs.length !== expectedInputs) {
    throw new Error(`Loop: body ${body.name} takes ${body.inputs.length} inputs, expected iteration, condition and ${carried.length} carried values`);
  }
  carried.forEach((value, i) => {
    const bodyInput = body.inputs[2 + i]!;
    const bodyOutput = body.outputs[1 + i]?.value;
    for (const side of [bodyInput, bodyOutput]) {
      if (!side || side.dtype !== value.dtype || formatShape(side.shape) !== formatShape(value.shape)) {
        throw new Error(`Loop: carried value ${value.name} (${value.dtype}${formatShape(value.shape)}) does not match the body's ${side?.name ?? 'missing'} value`);
      }
    }
  });
  const scanValues = body.outputs.slice(1 + carried.length).map((o) => o.value);
  const outputSpecs: Array<{ dtype: Value['dtype']; shape: Shape }> = [
    ...carried.map((value) => ({ dtype: value.dtype, shape: value.shape })),
    ...scanValues.map((value) => ({ dtype: value.dtype, shape: [trips, ...value.shape] })),
  ];
  if (options.condition && (options.condition.dtype !== 'bool' || options.condition.rank !== 0)) {
    throw new Error(`Loop: the condition ${options.condition.name} must be a bool scalar`);
  }
  const outputs = graph.addNode('Loop', [tripCount, options.condition ?? null, ...carried], outputSpecs, { body: { kind: 'graph', value: body } }, { nameHint: options.name });
  return { finals: outputs.slice(0, carried.length), scans: outputs.slice(carried.length) };
}
