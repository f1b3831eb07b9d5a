/**
 * train_steps: K optimizer steps in one session call, as an ONNX Loop over K
 * stacked batches. For small networks the cost of a step is mostly the cost
 * of a call (crossing into onnxruntime, feeding and fetching every parameter
 * and state tensor); a Loop pays it once per K steps. The body is exactly
 * train_step's computation, so K steps here equal K single steps, bit for
 * bit, except in models with Dropout, whose masks come from each graph's own
 * seeded random stream.
 */
import { Graph, type Value } from '../ir/graph.ts';
import { add, gather, identity, shape, sqrt, squeeze } from '../ir/ops.ts';
import { loop } from '../ir/controlFlow.ts';
import type { Model } from '../nn/model.ts';
import type { Optimizer, UpdatedSlot } from '../optim/optimizer.ts';
import { BATCH, modelGraph, targetSignature, type FloatType } from './modelInputs.ts';
import { addOptimizerOutputs, addOptimizerStateInputs, applyOptimizer, correctCount, lossAndGradients, stateInputName, sumOfSquares, type TrainStepOptions } from './programs.ts';

export const STEPS = 'K';

export function multiStepTrainGraph(model: Model, optimizer: Optimizer, dtype: FloatType = 'float32', options: TrainStepOptions = {}): Graph {
  const withGradNorm = options.gradNorm !== false;
  const { graph, parameters } = modelGraph(
    model,
    'train_steps',
    `${model.name}: K ${optimizer.name} steps in one call (${JSON.stringify(optimizer.config)}), one batch of x per step`,
    dtype,
    { shape: [STEPS, BATCH, ...model.inputShape], doc: `K batches, [K, N, ${model.inputShape.join(', ')}]` },
  );
  const x = graph.input('x');
  const target = targetSignature(model, dtype);
  const targets = graph.addInput('target', target.dtype, [STEPS, ...target.shape], 'one batch of targets per step, [K, ...]');
  const states = addOptimizerStateInputs(graph, optimizer, parameters, dtype);
  const { lrs, firstStep, trips } = addStepsInputs(graph, dtype);

  const names = [...parameters.keys()];
  const carried = packOptimizerCarry(optimizer, names, parameters, states);
  const body = stepBody(model, optimizer, graph, { x, targets, lrs, firstStep }, names, carried, withGradNorm);
  const { finals, scans } = loop(trips, carried, body, STEPS, { name: 'steps' });

  const perStep = [...scans];
  graph.addOutput('loss', perStep.shift()!, 'mean loss of each step, before its update, [K]');
  if (withGradNorm) graph.addOutput('grad_norm', perStep.shift()!, 'gradient 2-norm of each step, before its update, [K]');
  if (model.task === 'classification') graph.addOutput('correct', perStep.shift()!, 'correctly classified examples of each step\'s batch, [K]');
  addOptimizerOutputs(graph, optimizer, names, updatedSlots(optimizer, names, finals));
  return graph;
}

/** `lr` [K] (one per step, K read from its length) and `step` (the first step's number), shared by the K-step programs. */
export function addStepsInputs(graph: Graph, dtype: FloatType) {
  const lrs = graph.addInput('lr', dtype, [STEPS], 'the learning rate of each step');
  const firstStep = graph.addInput('step', 'int64', [], 'the 1-based number of the first step');
  const trips = graph.withScope('steps', () => squeeze(shape(lrs), [0], { name: 'trip_count' }));
  return { lrs, firstStep, trips };
}

/** Parameters and optimizer state as one list of Loop-carried values: each parameter, then its state slots. */
export function packOptimizerCarry(
  optimizer: Optimizer,
  names: readonly string[],
  parameters: ReadonlyMap<string, Value>,
  states: ReadonlyMap<string, ReadonlyMap<string, Value>>,
): Value[] {
  return names.flatMap((name) => [parameters.get(name)!, ...optimizer.stateSlots.map((slot) => states.get(name)!.get(slot)!)]);
}

/** packOptimizerCarry's inverse. */
export function unpackOptimizerCarry(optimizer: Optimizer, names: readonly string[], values: readonly Value[]) {
  const per = 1 + optimizer.stateSlots.length;
  const parameters = new Map(names.map((name, i) => [name, values[i * per]!]));
  const states = new Map(names.map((name, i) => [name, new Map(optimizer.stateSlots.map((slot, j) => [slot, values[i * per + 1 + j]!]))]));
  return { parameters, states };
}

/** Carried values after the Loop, as the optimizer's updated slots in parameter order. */
export function updatedSlots(optimizer: Optimizer, names: readonly string[], finals: readonly Value[]): UpdatedSlot[] {
  const { parameters, states } = unpackOptimizerCarry(optimizer, names, finals);
  return names.map((name) => ({ param: parameters.get(name)!, state: states.get(name)! }));
}

/** The optimizer's updated slots as the next Loop-carried values (packOptimizerCarry's order). */
export function packUpdatedSlots(optimizer: Optimizer, updated: readonly UpdatedSlot[]): Value[] {
  return updated.flatMap((slot) => [slot.param, ...optimizer.stateSlots.map((name) => slot.state.get(name)!)]);
}

function stepBody(
  model: Model,
  optimizer: Optimizer,
  outer: Graph,
  inputs: { x: Value; targets: Value; lrs: Value; firstStep: Value },
  names: string[],
  carried: Value[],
  withGradNorm: boolean,
): Graph {
  const body = new Graph(`${outer.name}/step`, 'one training step: batch `iteration` of x, forward, loss, gradient, update', 'step/');
  return body.withScope('step', () => {
    const iteration = body.addInput('step/iteration', 'int64', [], 'the 0-based iteration');
    const condition = body.addInput('step/condition', 'bool', [], 'unused: the loop runs K times');
    const incoming = carried.map((value) => body.addInput(`step/${value.name}`, value.dtype, value.shape));
    const x = gather(body.outerReference(inputs.x), iteration, 0, { name: 'x' });
    const target = gather(body.outerReference(inputs.targets), iteration, 0, { name: 'target' });
    const lr = gather(body.outerReference(inputs.lrs), iteration, 0, { name: 'lr' });
    const step = add(body.outerReference(inputs.firstStep), iteration, { name: 'step' });

    const { parameters, states } = unpackOptimizerCarry(optimizer, names, incoming);
    const { y, loss, gradients } = lossAndGradients(model, body, x, parameters, target, { training: true });
    const gradNorm = withGradNorm ? body.withScope('grad_norm', () => sqrt(sumOfSquares(gradients))) : null;
    const updated = applyOptimizer(body, optimizer, parameters, gradients, { states, lr, step });

    body.addOutput('step/condition_out', identity(condition));
    names.forEach((name, i) => {
      body.addOutput(`step/next.${name}`, updated[i]!.param);
      optimizer.stateSlots.forEach((slot) => body.addOutput(`step/next.${stateInputName(name, slot)}`, updated[i]!.state.get(slot)!));
    });
    body.addOutput('step/loss', loss);
    if (gradNorm) body.addOutput('step/grad_norm', gradNorm);
    if (model.task === 'classification') {
      body.addOutput('step/correct', correctCount(y, target));
    }
    return body;
  });
}
