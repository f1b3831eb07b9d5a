/**
 * Reverse-mode automatic differentiation as a graph transform: grad() appends
 * to the same graph the nodes that compute d(output)/d(wrt). The appended
 * nodes are ordinary ops with rules of their own, so calling grad() on an
 * expression of gradients gives second derivatives (Hessian-vector products,
 * gradient-norm objectives).
 */
import { isFloating } from '../ir/dtype.ts';
import type { Graph, Node, Value } from '../ir/graph.ts';
import { add, reduceSum, scalarLike, squeeze, zerosLike } from '../ir/ops.ts';
import { formatShape, sameShape, type Dim } from '../ir/shape.ts';
import type { GradientContext } from './rule.ts';
import { gradientRules, nonDifferentiableOps } from './rules/index.ts';

export interface GradOptions {
  /** Gradient of `output` to start from; defaults to 1 (output must be a scalar). */
  seed?: Value;
  /** Top-level scope of the appended nodes: "backward", "hvp", ... */
  scope?: string;
  /** What to return for a wrt value that does not influence the output. */
  unconnected?: 'zeros' | 'error';
}

export function grad(output: Value, wrt: readonly Value[], options: GradOptions = {}): Value[] {
  if (!options.seed && output.rank !== 0) {
    throw new Error(`grad: ${output.name} has shape ${formatShape(output.shape)}; give a seed or reduce it to a scalar`);
  }
  return vectorJacobianProducts([output], [options.seed ?? scalarLike(output, 1)], wrt, options);
}

/**
 * sum_k seeds[k]^T d outputs[k] / d wrt, in one backward pass: the gradient
 * of sum_k <outputs[k], seeds[k]>. With the outputs a gradient and the seeds
 * a direction v, this is the Hessian-vector product H v without building
 * the inner products and their backward nodes.
 */
export function vectorJacobianProducts(outputs: readonly Value[], seeds: readonly Value[], wrt: readonly Value[], options: Omit<GradOptions, 'seed'> = {}): Value[] {
  const graph = outputs[0]!.graph;
  const scope = options.scope ?? 'backward';
  outputs.forEach((value, k) => {
    const seed = seeds[k];
    if (!isFloating(value.dtype)) throw new Error(`grad: ${value.name} is ${value.dtype}, not floating point`);
    if (!seed || seed.dtype !== value.dtype || !sameShape(seed.shape, value.shape)) {
      throw new Error(`grad: the seed for ${value.name} (${value.dtype}${formatShape(value.shape)}) is ${seed ? `${seed.dtype}${formatShape(seed.shape)}` : 'missing'}`);
    }
  });

  const { path, dependsOnWrt } = nodesBetween(graph, wrt, outputs);
  const contributions = new Map<Value, Value[]>();
  const pending = (value: Value) => contributions.get(value) ?? [];
  outputs.forEach((value, k) => contributions.set(value, [...pending(value), seeds[k]!]));

  for (let index = path.length - 1; index >= 0; index--) {
    const node = path[index]!;
    const outputGrads = node.outputs.map((value) => sumContributions(pending(value), value, scope));
    if (outputGrads.every((g) => g === null)) continue;
    if (nonDifferentiableOps.has(node.opType)) continue;
    const rule = gradientRules[node.opType];
    if (!rule) throw new Error(`grad: no gradient rule for op ${node.opType} (node ${node.name})`);

    const needsGrad = (i: number) => {
      const input = node.inputs[i];
      return !!input && isFloating(input.dtype) && dependsOnWrt.has(input);
    };
    const context: GradientContext = { node, inputs: node.inputs, outputs: node.outputs, outputGrads, needsGrad };
    const inputGrads = graph.withScopePath(backwardScope(scope, node), () => rule(context));

    node.inputs.forEach((input, i) => {
      const inputGrad = inputGrads[i];
      if (!input || !inputGrad || !needsGrad(i)) return;
      const fitted = graph.withScopePath(backwardScope(scope, node), () => fitToInput(inputGrad, input, node));
      contributions.set(input, [...pending(input), fitted]);
    });
  }

  return wrt.map((value) => {
    const total = graph.withScopePath(`${scope}/accumulate`, () => sumContributions(pending(value), value, scope));
    if (total) return total;
    if (options.unconnected === 'error') throw new Error(`grad: ${outputs.map((o) => o.name).join(', ')} does not depend on ${value.name}`);
    return graph.withScopePath(`${scope}/zeros`, () => zerosLike(value, { name: value.name }));
  });
}

/** Nodes on some path from a wrt value to the output, in graph (topological) order. */
function nodesBetween(graph: Graph, wrt: readonly Value[], outputs: readonly Value[]) {
  const dependsOnWrt = new Set<Value>(wrt);
  const forward: Node[] = [];
  for (const node of graph.nodes) {
    // A non-differentiable op (a comparison, a mask from Sign) passes no
    // dependence on: no gradient is computed toward its inputs through it.
    if (!nonDifferentiableOps.has(node.opType) && node.inputs.some((input) => input && dependsOnWrt.has(input))) {
      forward.push(node);
      for (const value of node.outputs) if (isFloating(value.dtype)) dependsOnWrt.add(value);
    }
  }
  const reachesOutput = new Set<Value>(outputs);
  const path: Node[] = [];
  for (let index = forward.length - 1; index >= 0; index--) {
    const node = forward[index]!;
    if (node.outputs.some((value) => reachesOutput.has(value))) {
      path.push(node);
      for (const input of node.inputs) if (input) reachesOutput.add(input);
    }
  }
  return { path: path.reverse(), dependsOnWrt };
}

function backwardScope(scope: string, node: Node): string {
  const [, ...rest] = node.name.split('/');
  return [scope, ...(rest.length ? rest : [node.name])].join('/');
}

function sumContributions(parts: Value[], value: Value, scope: string): Value | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!;
  // Accumulate once and remember the sum, so a value used many times is summed once.
  const total = value.graph.withScopePath(`${scope}/accumulate`, () =>
    parts.slice(1).reduce((sum, part) => add(sum, part, { name: `d_${value.name.split('/').pop()}` }), parts[0]!),
  );
  parts.splice(0, parts.length, total);
  return total;
}

/**
 * Checks a rule's result against its input (same dtype; the same shape, or a
 * broadcast of it) and sums broadcast dimensions away, the one place where
 * unbroadcasting is done.
 */
function fitToInput(gradient: Value, input: Value, node: Node): Value {
  if (gradient.dtype !== input.dtype) {
    throw new Error(`grad: rule for ${node.opType} (${node.name}) gave ${gradient.dtype} for ${input.dtype} input ${input.name}`);
  }
  if (sameShape(gradient.shape, input.shape)) return gradient;
  const extra = gradient.rank - input.rank;
  const mismatch = () =>
    new Error(
      `grad: rule for ${node.opType} (${node.name}) gave shape ${formatShape(gradient.shape)} for input ${input.name} of shape ${formatShape(input.shape)}`,
    );
  if (extra < 0) throw mismatch();
  const axes: number[] = [];
  for (let axis = 0; axis < gradient.rank; axis++) {
    const inputDim: Dim | undefined = axis < extra ? undefined : input.shape[axis - extra];
    const gradientDim = gradient.shape[axis]!;
    if (inputDim === undefined || (inputDim === 1 && gradientDim !== 1)) axes.push(axis);
    else if (inputDim !== gradientDim) throw mismatch();
  }
  // Only leading axes to drop (a bias gradient): one ReduceSum without keepdims.
  if (axes.every((axis) => axis < extra)) return reduceSum(gradient, axes, false, { name: 'unbroadcast' });
  let reduced = reduceSum(gradient, axes, true, { name: 'unbroadcast' });
  if (extra > 0) reduced = squeeze(reduced, [...Array(extra).keys()], { name: 'unbroadcast_squeeze' });
  return reduced;
}
