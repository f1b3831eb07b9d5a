/**
 * The emitted programs of a model (the graph contract in the README):
 * forward, gradient, train_step and eval. Each is a pure function from a
 * resolved model to an in-memory Graph; writing files is build.ts's job.
 */
import { grad } from '../autodiff/engine.ts';
import type { Graph, Value } from '../ir/graph.ts';
import { add, argMax, cast, equal, reduceSum, reduceSumSquare, sqrt } from '../ir/ops.ts';
import { staticSize } from '../ir/shape.ts';
import type { ForwardMode } from '../nn/layer.ts';
import type { Model } from '../nn/model.ts';
import type { Optimizer, ParameterSlot, UpdatedSlot } from '../optim/optimizer.ts';
import { concatFlat, splitFlat } from './flatten.ts';
import { addTarget, lossOf, modelGraph, type FloatType } from './modelInputs.ts';

export function forwardGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(model, 'forward', `${model.name}: forward pass, x -> y (logits for classifiers)`, dtype);
  const y = graph.withScope('forward', () => model.forward(x, parameters));
  graph.addOutput('y', y, model.task === 'classification' ? 'logits [N, classes]' : 'predictions');
  return graph;
}

/**
 * Forward, loss (mean over the batch) and reverse-mode gradient for every
 * parameter, in parameter order; shared by the gradient, train_step and
 * second-order programs (secondOrder.ts).
 */
export function lossAndGradients(
  model: Model,
  graph: Graph,
  x: Value,
  parameters: Map<string, Value>,
  target: Value,
  mode: ForwardMode = { training: false },
) {
  const y = graph.withScope('forward', () => model.forward(x, parameters, mode));
  const loss = lossOf(model, y, target, 'mean');
  const wrt = [...parameters.values()];
  const gradients = grad(loss, wrt, { scope: 'backward' });
  return { y, loss, gradients };
}

export function gradientGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(model, 'gradient', `${model.name}: mean loss over the batch and its gradient for every parameter`, dtype);
  const target = addTarget(graph, model, dtype);
  const { loss, gradients } = lossAndGradients(model, graph, x, parameters, target);
  graph.addOutput('loss', loss, 'mean loss over the batch');
  [...parameters.keys()].forEach((name, i) => graph.addOutput(`grad.${name}`, gradients[i]!, `d loss / d ${name}`));
  return graph;
}

export function stateInputName(parameter: string, slot: string): string {
  return `state.${parameter}.${slot}`;
}

export function nextName(name: string): string {
  return `next.${name}`;
}

export interface TrainStepOptions {
  /**
   * Also output grad_norm, the loss gradient's 2-norm (default true). It
   * costs a pass over every gradient, about 8% of an MNIST MLP step, so
   * training that does not record it can leave it out.
   */
  gradNorm?: boolean;
}

export function trainStepGraph(model: Model, optimizer: Optimizer, dtype: FloatType = 'float32', options: TrainStepOptions = {}): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'train_step',
    `${model.name}: one ${optimizer.name} step (${JSON.stringify(optimizer.config)}): forward, loss, gradient, update`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const optimizerInputs = addOptimizerInputs(graph, optimizer, parameters, dtype);

  // Training behaviour (Dropout active), as PyTorch's model.train() during the step.
  const { y, loss, gradients } = lossAndGradients(model, graph, x, parameters, target, { training: true });
  const gradNorm = options.gradNorm === false ? null : graph.withScope('grad_norm', () => sqrt(sumOfSquares(gradients)));
  const updated = applyOptimizer(graph, optimizer, parameters, gradients, optimizerInputs);

  graph.addOutput('loss', loss, 'mean loss over the batch, before the update');
  if (gradNorm) graph.addOutput('grad_norm', gradNorm, '2-norm of the loss gradient over all parameters, before the update');
  if (model.task === 'classification') graph.addOutput('correct', correctCount(y, target), 'correctly classified examples in the batch');
  addOptimizerOutputs(graph, optimizer, [...parameters.keys()], updated);
  return graph;
}

/** Sum over all tensors of the sum of their squared elements: ||g||^2 over every parameter. */
export function sumOfSquares(values: readonly Value[]): Value {
  return values.map((g) => reduceSumSquare(g)).reduce((sum, term) => add(sum, term));
}

/** The optimizer's graph inputs: state.<param>.<slot> for every parameter and slot, then lr and step. */
export interface OptimizerInputs {
  states: Map<string, Map<string, Value>>;
  lr: Value;
  step: Value;
}

/** state.<param>.<slot> inputs for every parameter and slot, in parameter order. */
export function addOptimizerStateInputs(graph: Graph, optimizer: Optimizer, parameters: ReadonlyMap<string, Value>, dtype: FloatType) {
  const states = new Map<string, Map<string, Value>>();
  for (const [name, param] of parameters) {
    const slots = new Map<string, Value>();
    for (const slot of optimizer.stateSlots) {
      slots.set(slot, graph.addInput(stateInputName(name, slot), dtype, param.shape, `${optimizer.name} state "${slot}" of ${name}`));
    }
    states.set(name, slots);
  }
  return states;
}

export function addOptimizerInputs(graph: Graph, optimizer: Optimizer, parameters: ReadonlyMap<string, Value>, dtype: FloatType): OptimizerInputs {
  const states = addOptimizerStateInputs(graph, optimizer, parameters, dtype);
  const lr = graph.addInput('lr', dtype, [], 'learning rate (an input, so schedules need no rebuild)');
  const step = graph.addInput('step', 'int64', [], 'the 1-based number of this step (bias corrections, first-step momentum)');
  return { states, lr, step };
}

/**
 * Parameters below this many elements are updated together, as one flat
 * tensor. An elementwise op on a bias costs onnxruntime about as much as on
 * a few thousand numbers (the kernel's fixed cost), and an optimizer runs
 * about a dozen of them per tensor; PyTorch's foreach optimizers group
 * tensors for the same reason.
 */
export const SMALL_PARAMETER_ELEMENTS = 16384;

/**
 * One optimizer update of every parameter with the given gradients (in
 * parameter order), in scope optimizer/<name>. Every optimizer here is
 * elementwise, so updating the concatenation of the small parameters gives
 * exactly their separate updates.
 */
export function applyOptimizer(
  graph: Graph,
  optimizer: Optimizer,
  parameters: ReadonlyMap<string, Value>,
  gradients: readonly Value[],
  { states, lr, step }: OptimizerInputs,
): UpdatedSlot[] {
  const slots: ParameterSlot[] = [...parameters.keys()].map((name, i) => ({ name, param: parameters.get(name)!, grad: gradients[i]!, state: states.get(name)! }));
  return graph.withScope(`optimizer/${optimizer.name}`, () => {
    const small = slots.filter((slot) => staticSize(slot.param.shape)! < SMALL_PARAMETER_ELEMENTS);
    if (small.length < 2) return optimizer.update(slots, lr, step);
    const large = slots.filter((slot) => !small.includes(slot));
    const grouped = graph.withScope('small_parameters', () => groupSlots(small, optimizer.stateSlots));
    const updated = optimizer.update([...large, grouped], lr, step);
    const ungrouped = graph.withScope('small_parameters', () => ungroupSlot(updated.at(-1)!, small, optimizer.stateSlots));
    return slots.map((slot) => (small.includes(slot) ? ungrouped[small.indexOf(slot)]! : updated[large.indexOf(slot)]!));
  });
}

function groupSlots(slots: readonly ParameterSlot[], stateSlots: readonly string[]): ParameterSlot {
  return {
    name: 'small_parameters',
    param: concatFlat(slots.map((s) => s.param), 'param'),
    grad: concatFlat(slots.map((s) => s.grad), 'grad'),
    state: new Map(stateSlots.map((slot) => [slot, concatFlat(slots.map((s) => s.state.get(slot)!), slot)])),
  };
}

function ungroupSlot(updated: UpdatedSlot, slots: readonly ParameterSlot[], stateSlots: readonly string[]): UpdatedSlot[] {
  const shapes = slots.map((slot) => slot.param.shape as number[]);
  const params = splitFlat(updated.param, shapes, 'next_param');
  const states = stateSlots.map((slot) => splitFlat(updated.state.get(slot)!, shapes, `next_${slot}`));
  return slots.map((_, i) => ({ param: params[i]!, state: new Map(stateSlots.map((slot, j) => [slot, states[j]![i]!])) }));
}

/** next.<param> and next.state.<param>.<slot> for every parameter, in parameter order. */
export function addOptimizerOutputs(graph: Graph, optimizer: Optimizer, names: readonly string[], updated: readonly UpdatedSlot[]): void {
  names.forEach((name, i) => {
    graph.addOutput(nextName(name), updated[i]!.param, `${name} after the step`);
    for (const slot of optimizer.stateSlots) {
      graph.addOutput(nextName(stateInputName(name, slot)), updated[i]!.state.get(slot)!, `${optimizer.name} state "${slot}" of ${name} after the step`);
    }
  });
}

/** Correctly classified examples of a batch: argmax of the logits equals the label. */
export function correctCount(logits: Value, labels: Value): Value {
  return logits.graph.withScope('metrics', () => reduceSum(cast(equal(argMax(logits, 1), labels), 'int64'), undefined, false, { name: 'correct' }));
}

export function evalGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'eval',
    `${model.name}: summed loss (and correct count) of a chunk, so a data set is evaluated in chunks`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const y = graph.withScope('forward', () => model.forward(x, parameters));
  graph.addOutput('loss_sum', lossOf(model, y, target, 'sum'), 'loss summed over the chunk (divide by the example count for the mean)');
  if (model.task === 'classification') graph.addOutput('correct', correctCount(y, target), 'correctly classified examples in the chunk');
  return graph;
}
