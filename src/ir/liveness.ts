/**
 * Dead-node elimination at serialization. onnxruntime runs every node of a
 * model, also those whose results nothing reads (measured: five unused
 * 1000 x 1000 MatMuls cost their full time). Graph building leaves such
 * nodes behind: the Hessian programs seed the backward pass with v and never
 * read the gradients themselves, so the weight-gradient Gemms of the first
 * backward pass are dead there. Only nodes that some graph output depends on
 * are written.
 *
 * Optional trailing outputs nothing reads are left out too: onnxruntime's
 * MaxPool takes its vectorized (MLAS) kernel only when no Indices output is
 * declared (B2's pool1, batch 64: 0.28 against 2.1 ms), so evaluation graphs
 * drop Indices while training graphs, whose gradient reads them, keep them.
 */
import type { Graph, Initializer, Node, Value } from './graph.ts';

/** The nodes of `graph` that its outputs depend on, in graph order, and the initializers they read. */
export function liveParts(graph: Graph): { nodes: Node[]; initializers: Initializer[]; read: ReadonlySet<string> } {
  const needed = new Set<string>(graph.outputs.map((output) => output.value.name));
  const live = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (!node.outputs.some((output) => needed.has(output.name))) continue;
    live.add(node);
    for (const input of node.inputs) if (input) needed.add(input.name);
    // A Loop body reads values of this graph by name.
    for (const attribute of Object.values(node.attributes)) {
      if (attribute.kind === 'graph') for (const name of namesReadFromOutside(attribute.value)) needed.add(name);
    }
  }
  return {
    nodes: graph.nodes.filter((node) => live.has(node)),
    initializers: graph.initializers.filter(({ value }) => needed.has(value.name)),
    read: needed,
  };
}

/** For ops whose trailing outputs ONNX marks optional: how many outputs are required. */
const REQUIRED_OUTPUTS: Readonly<Record<string, number>> = { MaxPool: 1, Dropout: 1 };

/** The outputs a live node is written with: all, less the unread optional ones at the end. */
export function writtenOutputs(node: Node, read: ReadonlySet<string>): readonly Value[] {
  const required = REQUIRED_OUTPUTS[node.opType];
  if (required === undefined) return node.outputs;
  let count = node.outputs.length;
  while (count > required && !read.has(node.outputs[count - 1]!.name)) count--;
  return node.outputs.slice(0, count);
}

/** Names a subgraph's live nodes read that it does not define itself (ONNX outer-scope references). */
export function namesReadFromOutside(graph: Graph): Set<string> {
  const { nodes } = liveParts(graph);
  const defined = new Set<string>([...graph.inputs, ...graph.initializers.map((i) => i.value)].map((value) => value.name));
  for (const node of nodes) for (const output of node.outputs) defined.add(output.name);
  const read = new Set<string>();
  for (const node of nodes) {
    for (const input of node.inputs) if (input && !defined.has(input.name)) read.add(input.name);
    for (const attribute of Object.values(node.attributes)) {
      if (attribute.kind === 'graph') for (const name of namesReadFromOutside(attribute.value)) if (!defined.has(name)) read.add(name);
    }
  }
  for (const output of graph.outputs) if (!defined.has(output.value.name)) read.add(output.value.name);
  return read;
}
