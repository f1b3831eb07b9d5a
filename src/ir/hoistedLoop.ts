/**
 * A Loop whose body is written as ordinary graph code, with everything that
 * does not change between iterations hoisted out of it.
 *
 * Why: a Hessian-vector product H v built by double backward contains the
 * forward pass and the first backward pass, which depend on the weights and
 * the data but not on v. Run in a Loop over many v (the columns of the full
 * Hessian, the steps of a power iteration), they would be recomputed every
 * iteration. Here the body is built in the enclosing graph against stand-ins
 * for the iteration number and the carried values; afterwards only the nodes
 * that depend on those stand-ins move into the Loop body. The rest stay
 * before the Loop and run once; the body reads their results by name (ONNX
 * outer-scope references).
 */
import { loop } from './controlFlow.ts';
import { Graph, type Node, type Value } from './graph.ts';
import { namesReadFromOutside } from './liveness.ts';
import { untransposeWeightGradients } from './loopLayout.ts';
import { identity } from './ops.ts';
import type { Dim } from './shape.ts';

export interface HoistedLoopBody {
  /** The carried values for the next iteration, in the order of `carried`. */
  next: Value[];
  /** Per-iteration values, stacked by the Loop along a new first axis. */
  scans?: Value[];
  /** A bool scalar: false ends the loop after this iteration. */
  continueLoop?: Value;
}

export interface HoistedLoopResult {
  finals: Value[];
  scans: Value[];
  /** The Loop body, for inspection (tests count what was hoisted). */
  body: Graph;
}

/**
 * Runs `build(iteration, carried)` up to `tripCount` times in one ONNX Loop.
 * `iteration` is the 0-based int64 iteration number; `carried` are stand-ins
 * with the dtypes and shapes of `initial`.
 */
export function hoistedLoop(
  tripCount: Value,
  initial: readonly Value[],
  trips: Dim,
  build: (iteration: Value, carried: Value[]) => HoistedLoopBody,
  options: { name: string; doc?: string; condition?: Value },
): HoistedLoopResult {
  const outer = tripCount.graph;
  const firstBuilt = outer.nodes.length;
  const { iteration, condition, carried } = outer.withScope(options.name, () => ({
    iteration: outer.placeholder('iteration', 'int64', []),
    condition: outer.placeholder('condition', 'bool', []),
    carried: initial.map((value) => outer.placeholder(`carried.${value.name}`, value.dtype, value.shape)),
  }));
  const result = outer.withScope(options.name, () => build(iteration, carried));
  if (result.next.length !== initial.length) {
    throw new Error(`hoistedLoop ${options.name}: the body returns ${result.next.length} next values for ${initial.length} carried ones`);
  }

  const varying = new Set<Value>([iteration, condition, ...carried]);
  const moved = dependentNodes(outer.nodes.slice(firstBuilt), varying);
  const body = new Graph(`${outer.name}/${options.name}`, options.doc ?? '', `${options.name}/`);
  for (const input of [iteration, condition, ...carried]) {
    input.moveTo(body);
    body.inputs.push(input);
  }
  for (const node of moved) {
    for (const output of node.outputs) output.moveTo(body);
    body.nodes.push(node);
  }
  removeNodes(outer, moved);
  const replaced = untransposeWeightGradients(outer, body);
  const current = (value: Value) => replaced.get(value) ?? value;

  // Values the body returns but did not compute (a carried value passed on
  // unchanged, or a hoisted value) still need a node in the body to output them.
  const inBody = (value: Value) => value.graph === body;
  const emitted = (value: Value) => (inBody(value) ? value : identity(body.outerReference(value), { name: 'hoisted' }));
  body.withScope(options.name, () => {
    const keepGoing = result.continueLoop ? emitted(current(result.continueLoop)) : identity(condition, { name: 'condition_out' });
    const outputs = [keepGoing, ...result.next.map((v) => emitted(current(v))), ...(result.scans ?? []).map((v) => emitted(current(v)))];
    const labels = ['continue', ...result.next.map((_, i) => `next_${i}`), ...(result.scans ?? []).map((_, i) => `scan_${i}`)];
    outputs.forEach((value, i) => body.addOutput(outer.uniqueName(`${options.name}/${labels[i]}`), value));
  });
  const { finals, scans } = loop(tripCount, initial, body, trips, { name: options.name, condition: options.condition });
  return { finals, scans, body };
}

/** The nodes (in order) that read any of `sources`, directly, through other such nodes, or from inside a nested Loop body. */
export function dependentNodes(nodes: readonly Node[], sources: ReadonlySet<Value>): Node[] {
  const reached = new Set<string>([...sources].map((value) => value.name));
  const dependent: Node[] = [];
  for (const node of nodes) {
    const readsInSubgraph = Object.values(node.attributes).some(
      (attribute) => attribute.kind === 'graph' && [...namesReadFromOutside(attribute.value)].some((name) => reached.has(name)),
    );
    if (readsInSubgraph || node.inputs.some((input) => input !== null && reached.has(input.name))) {
      dependent.push(node);
      for (const output of node.outputs) reached.add(output.name);
    }
  }
  return dependent;
}

function removeNodes(graph: Graph, nodes: readonly Node[]): void {
  const removed = new Set(nodes);
  const kept = graph.nodes.filter((node) => !removed.has(node));
  graph.nodes.splice(0, graph.nodes.length, ...kept);
}
