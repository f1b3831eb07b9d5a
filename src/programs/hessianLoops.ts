/**
 * Many Hessian-vector products in one session call: the full Hessian
 * (hessian.onnx, column i = H e_i) and power iteration for the eigenvalue of
 * largest magnitude (power_iteration.onnx). Both are ONNX Loops built with
 * hoistedLoop, so the forward pass and the first backward pass, which do not
 * depend on the direction, run once per call instead of once per product;
 * each iteration is only the double-backward part. Vectors are flat [P], in
 * parameter order, each parameter row-major (analysis/hessian.ts's layout).
 */
import { vectorJacobianProducts } from '../autodiff/engine.ts';
import { hoistedLoop } from '../ir/hoistedLoop.ts';
import type { Graph, Value } from '../ir/graph.ts';
import { abs, and, arange, cast, div, equal, greater, less, max, mul, not, reduceSum, reduceSumSquare, scalarLike, sqrt, sub } from '../ir/ops.ts';
import type { Model } from '../nn/model.ts';
import { concatFlat, splitFlat } from './flatten.ts';
import { addTarget, modelGraph, type FloatType } from './modelInputs.ts';
import { lossAndGradients } from './programs.ts';

/**
 * H v by double backward (Pearlmutter's trick): the gradient of
 * sum_p <grad_p L, v_p>, one backward pass through the first backward pass
 * seeded with v. Shared by hvp.onnx and the Loops here.
 */
export function hessianVectorProducts(gradients: readonly Value[], parameters: readonly Value[], directions: readonly Value[]): Value[] {
  const scope = gradients[0]!.graph.scope;
  return vectorJacobianProducts(gradients, directions, parameters, { scope: scope ? `${scope}/hvp` : 'hvp' });
}

/** A flat [P] vector cut into tensors of the parameters' shapes. */
function splitByParameter(model: Model, flat: Value): Value[] {
  return splitFlat(flat, model.parameters.map((parameter) => parameter.shape), 'v');
}

/** Above this many parameters no hessian.onnx is emitted: 5,000 is a 200 MB float64 matrix and 5,000 iterations. */
export const MAX_FULL_HESSIAN_PARAMETERS = 5000;

/**
 * The full Hessian of the mean loss, [P, P], one Loop iteration per column.
 * Only for small models: P iterations and P^2 numbers.
 */
export function hessianGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const size = model.parameterCount;
  const { graph, x, parameters } = modelGraph(
    model,
    'hessian',
    `${model.name}: the full Hessian of the mean loss (${size} x ${size}), column i = H e_i by double backward; forward and backward run once`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const { loss, gradients } = lossAndGradients(model, graph, x, parameters, target);
  const columns = graph.constant('int64', [], [size]);
  const { scans } = hoistedLoop(
    columns,
    [],
    size,
    (i) => {
      const basis = cast(equal(arange(i, size, { name: 'indices' }), i), dtype, { name: 'basis' });
      const products = hessianVectorProducts(gradients, [...parameters.values()], splitByParameter(model, basis));
      return { next: [], scans: [concatFlat(products, 'flat')] };
    },
    { name: 'columns', doc: 'column i of the Hessian: H e_i, only the part of the double backward that depends on e_i' },
  );
  graph.addOutput('loss', loss, 'mean loss over the batch');
  graph.addOutput('hessian', scans[0]!, `the Hessian of the mean loss, [${size}, ${size}], row i = column i = H e_i (symmetric up to round-off)`);
  return graph;
}

/** Keeps the relative change and residual finite when the estimate is 0. */
const SMALLEST_NORMAL: Record<FloatType, number> = { float32: 1.1754943508222875e-38, float64: 2.2250738585072014e-308 };

/**
 * Power iteration as PyHessian does it: v <- H v / ||H v|| from v0, the
 * estimate being the Rayleigh quotient lambda = v^T H v, so it converges to
 * the eigenvalue of largest magnitude, with its sign. Stops after
 * `iterations` products, when H v = 0, or as soon as the relative residual
 * ||H v - lambda v|| / |lambda| is below `tolerance`: then an eigenvalue of H
 * lies within tolerance * |lambda| of lambda (for a symmetric matrix some
 * eigenvalue is within ||H v - lambda v|| of the Rayleigh quotient of a unit
 * v). The change of the estimate is no such test: with eigenvalues +-lambda
 * the quotient does not move while v swings between the two eigenvectors.
 */
export function powerIterationGraph(model: Model, dtype: FloatType = 'float32'): Graph {
  const size = model.parameterCount;
  const { graph, x, parameters } = modelGraph(
    model,
    'power_iteration',
    `${model.name}: the Hessian eigenvalue of largest magnitude by power iteration with exact Hessian-vector products; forward and backward run once`,
    dtype,
  );
  const target = addTarget(graph, model, dtype);
  const start = graph.addInput('v0', dtype, [size], `start vector, [${size}] in parameter order (normalized here)`);
  const iterations = graph.addInput('iterations', 'int64', [], 'most Hessian-vector products to compute');
  const tolerance = graph.addInput(
    'tolerance',
    dtype,
    [],
    'stop when ||H v - lambda v|| / |lambda| < tolerance, so an eigenvalue lies within tolerance * |lambda| of lambda (0: run every iteration)',
  );
  const { loss, gradients } = lossAndGradients(model, graph, x, parameters, target);

  const { unit, unknown } = graph.withScope('start', () => ({
    unit: div(start, sqrt(reduceSumSquare(start)), { name: 'unit' }),
    unknown: graph.constant(dtype, [], [Number.NaN]),
  }));
  const { finals, scans } = hoistedLoop(
    iterations,
    [unit, unknown, unit, unknown],
    'K',
    (_, [v, previous]) => {
      const hv = concatFlat(hessianVectorProducts(gradients, [...parameters.values()], splitByParameter(model, v!)), 'flat');
      const estimate = reduceSum(mul(v!, hv), undefined, false, { name: 'rayleigh' });
      const magnitude = max(abs(estimate), scalarLike(estimate, SMALLEST_NORMAL[dtype]));
      const change = div(abs(sub(estimate, previous!)), magnitude, { name: 'relative_change' });
      const residual = div(sqrt(reduceSumSquare(sub(hv, mul(estimate, v!)))), magnitude, { name: 'relative_residual' });
      const norm = sqrt(reduceSumSquare(hv), { name: 'norm' });
      const nonzero = greater(norm, scalarLike(norm, 0));
      // After H v = 0 the loop ends, so the (non-finite) next vector is never used.
      const next = div(hv, norm, { name: 'next' });
      // "not (residual < tolerance)" so that a NaN residual continues.
      const continueLoop = and(not(less(residual, tolerance)), nonzero, { name: 'continue' });
      return { next: [next, estimate, v!, residual], scans: [estimate, change, residual, norm], continueLoop };
    },
    { name: 'power', doc: 'one power-iteration step: H v, the Rayleigh quotient, its residual, v <- H v / ||H v||', condition: graph.constant('bool', [], [1]) },
  );
  const [, eigenvalue, vector, residual] = finals as [Value, Value, Value, Value];
  graph.addOutput('loss', loss, 'mean loss over the batch');
  graph.addOutput('eigenvalue', eigenvalue, 'the last Rayleigh quotient lambda = v^T H v');
  graph.addOutput('vector', vector, `the unit vector v of that quotient, [${size}]`);
  graph.addOutput('relative_residual', residual, '||H v - lambda v|| / |lambda| for that pair');
  graph.addOutput('estimates', scans[0]!, 'the Rayleigh quotient after each product, [K]');
  graph.addOutput('relative_changes', scans[1]!, '|lambda_k - lambda_(k-1)| / |lambda_k| after each product (NaN for the first), [K]');
  graph.addOutput('relative_residuals', scans[2]!, '||H v - lambda v|| / |lambda| after each product (the stop test), [K]');
  graph.addOutput('product_norms', scans[3]!, '||H v|| after each product (0 stops the iteration), [K]');
  return graph;
}
