/**
 * B4: ten full Hessians of a 1-5-5-1 ReLU network's MSE (46 params) and all
 * their eigenvalues. fullHessian() opens a new hvp session on every call, so
 * to time the products and not session creation the columns H e_i come from
 * one hessianOperator opened in setup, and are symmetrized as fullHessian does.
 */
import { Matrix } from 'ml-matrix';
import { hessianEigenvalues, hessianOperator, type HessianOperator } from '../../src/analysis/hessian.ts';
import { dense, relu } from '../../src/nn/layers.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { sincPoints } from './funcDeepFit.ts';
import { BENCH_DTYPE, BENCH_SEED, type Workload } from './workload.ts';

const REPETITIONS = 10;

export const relu1551 = resolveModel(
  sequential(
    'bench-relu-1-5-5-1',
    { description: 'benchmark B4: fully connected 1-5-5-1 with ReLU', task: 'regression', inputShape: [1], dataset: 'function:sinc' },
    [dense(5), relu(), dense(5), relu(), dense(1)],
  ),
);

let operator: Promise<HessianOperator> | undefined;

const workload: Workload<HessianOperator> = {
  name: 'B4',
  description: `${REPETITIONS} x the full Hessian of the MSE of a 1-5-5-1 ReLU network (${relu1551.parameterCount} params, initial weights seed ${BENCH_SEED}) on ${sincPoints.count.toLocaleString('en-US')} points, and all its eigenvalues`,
  dtype: BENCH_DTYPE,
  timed: `${REPETITIONS} x (${relu1551.parameterCount} hvp.onnx runs on basis vectors, symmetrizing, ml-matrix symmetric eigendecomposition); not opening the hvp session (once per process)`,
  setup({ threads }) {
    operator ??= hessianOperator(
      relu1551,
      initializeParameters(relu1551, BENCH_SEED, BENCH_DTYPE),
      { x: sincPoints.inputs, target: sincPoints.targets! },
      { threads, dtype: BENCH_DTYPE },
    );
    return operator;
  },
  async run(hessian) {
    let largest = Number.NaN;
    for (let r = 0; r < REPETITIONS; r++) {
      const size = hessian.size;
      const columns: Float64Array[] = [];
      const basis = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        basis[i] = 1;
        columns.push(await hessian.apply(basis));
        basis[i] = 0;
      }
      const matrix = new Matrix(size, size);
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) matrix.set(i, j, (columns[j]![i]! + columns[i]![j]!) / 2);
      }
      const eigenvalues = hessianEigenvalues(matrix);
      largest = eigenvalues[eigenvalues.length - 1]!;
    }
    return { name: 'largest eigenvalue', value: largest };
  },
};

export default workload;
