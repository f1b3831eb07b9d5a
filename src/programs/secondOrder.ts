/**
 * Programs that need derivatives of derivatives, or derivatives with respect
 * to the input (the graph contract in the README): hvp, gradnorm_step,
 * input_grad and jacobian. Each is built by calling grad() on values that
 * grad() produced, so nothing here is a finite difference.
 */
import { grad } from '../autodiff/engine.ts';
import type { Graph, Value } from '../ir/graph.ts';
import { add, concat, expand, gather, mul, reduceSum, shape, softmax, sqrt, unsqueeze } from '../ir/ops.ts';
import { hoistedLoop } from '../ir/hoistedLoop.ts';
import type { Model } from '../nn/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { hessianVectorProducts } from './hessianLoops.ts';
import { addTarget, lossOf, modelGraph, type FloatType } from './modelInputs.ts';
import { addOptimizerInputs, addOptimizerOutputs, addOptimizerStateInputs, applyOptimizer, lossAndGradients, sumOfSquares, type OptimizerInputs } from './programs.ts';
import { addStepsInputs, packOptimizerCarry, packUpdatedSlots, STEPS, unpackOptimizerCarry, updatedSlots } from './multiStep.ts';

export function directionInputName(parameter: string): string {
  return `v.${parameter}`;
}

/**
 * Exact Hessian-vector product of the mean loss by double backward (one
 * product per run; hessianLoops.ts has the many-products-per-run programs).
 */
export function hvpGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'hvp',
    `${model.name}: mean loss, its gradient, and the Hessian-vector product H v (double backward, exact)`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const directions = [...parameters].map(([name, param]) =>
    graph.addInput(directionInputName(name), dtype, param.shape, `direction v for ${name} (H v is taken along all v.<param> together)`),
  );
  const { loss, gradients } = lossAndGradients(model, graph, x, parameters, target);
  const products = hessianVectorProducts(gradients, [...parameters.values()], directions);

  const names = [...parameters.keys()];
  graph.addOutput('loss', loss, 'mean loss over the batch');
  names.forEach((name, i) => graph.addOutput(`grad.${name}`, gradients[i]!, `d loss / d ${name}`));
  names.forEach((name, i) => graph.addOutput(`hvp.${name}`, products[i]!, `(H v) restricted to ${name}, H the Hessian of the mean loss`));
  return graph;
}

/**
 * One optimizer step on the objective ||grad L||^2 (HW1 1-2, "what happens
 * when the gradient is almost zero", option (a)). Its gradient is 2 H grad L,
 * obtained by differentiating the squared norm of the backward pass. The
 * squared norm, not the norm, is minimized: it is smooth at a zero gradient.
 */
export function gradNormStepGraph(model: Model, optimizer: Optimizer, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'gradnorm_step',
    `${model.name}: one ${optimizer.name} step (${JSON.stringify(optimizer.config)}) on the objective ||grad loss||^2`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const optimizerInputs = addOptimizerInputs(graph, optimizer, parameters, dtype);
  const { loss, gradNorm, objective, updated } = gradNormStep(model, optimizer, x, parameters, target, optimizerInputs);

  graph.addOutput('loss', loss, 'mean loss over the batch, before the update');
  graph.addOutput('grad_norm', gradNorm, '2-norm of the loss gradient over all parameters, before the update');
  graph.addOutput('objective', objective, 'the minimized objective ||grad loss||^2 (= grad_norm^2), before the update');
  addOptimizerOutputs(graph, optimizer, [...parameters.keys()], updated);
  return graph;
}

/**
 * gradnorm_step K times in one call on the same batch (an ONNX Loop): for
 * small models the cost of a step is mostly the cost of a call. Nothing of
 * the step is loop-invariant but what depends on x alone, which hoistedLoop
 * moves out.
 */
export function gradNormStepsGraph(model: Model, optimizer: Optimizer, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'gradnorm_steps',
    `${model.name}: K ${optimizer.name} steps (${JSON.stringify(optimizer.config)}) on the objective ||grad loss||^2 in one call, the same batch every step`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const states = addOptimizerStateInputs(graph, optimizer, parameters, dtype);
  const { lrs, firstStep, trips } = addStepsInputs(graph, dtype);

  const names = [...parameters.keys()];
  const { finals, scans } = hoistedLoop(
    trips,
    packOptimizerCarry(optimizer, names, parameters, states),
    STEPS,
    (iteration, values) => {
      const current = unpackOptimizerCarry(optimizer, names, values);
      const lr = gather(lrs, iteration, 0, { name: 'lr' });
      const step = add(firstStep, iteration, { name: 'step' });
      const { loss, gradNorm, objective, updated } = gradNormStep(model, optimizer, x, current.parameters, target, { states: current.states, lr, step });
      return { next: packUpdatedSlots(optimizer, updated), scans: [loss, gradNorm, objective] };
    },
    { name: 'steps', doc: 'one step on ||grad loss||^2: forward, backward, the backward of the squared gradient norm, the update' },
  );

  graph.addOutput('loss', scans[0]!, 'mean loss of each step, before its update, [K]');
  graph.addOutput('grad_norm', scans[1]!, '2-norm of the loss gradient of each step, before its update, [K]');
  graph.addOutput('objective', scans[2]!, '||grad loss||^2 of each step, before its update, [K]');
  addOptimizerOutputs(graph, optimizer, names, updatedSlots(optimizer, names, finals));
  return graph;
}

function gradNormStep(
  model: Model,
  optimizer: Optimizer,
  x: Value,
  parameters: Map<string, Value>,
  target: Value,
  optimizerInputs: OptimizerInputs,
) {
  const graph = x.graph;
  const { loss, gradients } = lossAndGradients(model, graph, x, parameters, target);
  const objective = graph.withScope('objective', () => sumOfSquares(gradients));
  const gradNorm = graph.withScope('grad_norm', () => sqrt(objective));
  const objectiveGradients = grad(objective, [...parameters.values()], { scope: graph.scope ? `${graph.scope}/objective_backward` : 'objective_backward' });
  const updated = applyOptimizer(graph, optimizer, parameters, objectiveGradients, optimizerInputs);
  return { loss, gradNorm, objective, updated };
}

/**
 * The gradient of the mean loss with respect to the input, and its Frobenius
 * norm over the whole batch: the slides' cheap "sensitivity" (HW1 1-3). The
 * loss is the mean over the batch (as in gradient.onnx), so each example's row
 * of grad.x is 1/N of its own loss's input gradient; compare sensitivities
 * measured with the same batch size.
 */
export function inputGradGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const { graph, x, parameters } = modelGraph(
    model,
    'input_grad',
    `${model.name}: mean loss, its gradient with respect to the input x, and that gradient's Frobenius norm (sensitivity)`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const y = graph.withScope('forward', () => model.forward(x, parameters));
  const loss = lossOf(model, y, target, 'mean');
  const [inputGradient] = grad(loss, [x], { scope: 'backward' });
  const sensitivity = graph.withScope('sensitivity', () => sqrt(reduceSum(mul(inputGradient!, inputGradient!))));

  graph.addOutput('loss', loss, 'mean loss over the batch');
  graph.addOutput('grad.x', inputGradient!, 'd (mean loss) / d x, the shape of x');
  graph.addOutput('sensitivity', sensitivity, 'Frobenius norm of grad.x over the whole batch (mean loss, so it depends on N)');
  return graph;
}

/**
 * The Jacobian of the class probabilities with respect to the input, the
 * original definition of sensitivity (HW1 1-3). One backward pass per class c
 * with a seed that is one-hot in column c gives d p[n, c] / d x[n, ...] for
 * every n at once, because examples do not interact in these models (no batch
 * normalization): d p[n, c] / d x[m, ...] = 0 for m != n. The per-class rows
 * are stacked with Unsqueeze + Concat.
 */
export function jacobianGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  if (model.task !== 'classification') {
    throw new Error(`jacobianGraph: ${model.name} is a ${model.task} model; the Jacobian of class probabilities needs a classifier`);
  }
  const classes = model.outputShape[0]!;
  const { graph, x, parameters } = modelGraph(
    model,
    'jacobian',
    `${model.name}: class probabilities and their Jacobian with respect to the input, d p[n, c] / d x[n, ...], with its Frobenius norms`,
    dtype,
  );
  const logits = graph.withScope('forward', () => model.forward(x, parameters));
  const probabilities = graph.withScope('probabilities', () => softmax(logits, 1, { name: 'Softmax' }));

  const rows: Value[] = [];
  for (let c = 0; c < classes; c++) {
    const scope = `jacobian/class_${c}`;
    const seed = graph.withScope(scope, () => {
      const oneHot = graph.constant(dtype, [1, classes], Array.from({ length: classes }, (_, k) => (k === c ? 1 : 0)));
      return expand(oneHot, shape(probabilities), probabilities.shape, { name: 'seed' });
    });
    const [row] = grad(probabilities, [x], { seed, scope });
    rows.push(graph.withScope(scope, () => unsqueeze(row!, [1], { name: 'row' })));
  }
  const jacobian = graph.withScope('jacobian', () => concat(rows, 1, { name: 'stack' }));
  const { perExample, total } = graph.withScope('jacobian_norm', () => {
    const squares = mul(jacobian, jacobian);
    const perExampleSquares = reduceSum(squares, [...Array(jacobian.rank).keys()].slice(1), false);
    return { perExample: sqrt(perExampleSquares, { name: 'per_example' }), total: sqrt(reduceSum(perExampleSquares), { name: 'total' }) };
  });

  graph.addOutput('probabilities', probabilities, 'softmax of the logits, [N, classes]');
  graph.addOutput('jacobian', jacobian, `d probabilities[n, c] / d x[n, ...], [N, ${classes}, ${model.inputShape.join(', ')}]`);
  graph.addOutput('jacobian_norm', total, 'Frobenius norm of the jacobian over the whole batch');
  graph.addOutput('jacobian_norm_per_example', perExample, 'Frobenius norm of each example\'s [classes, ...input] Jacobian, [N]');
  return graph;
}
