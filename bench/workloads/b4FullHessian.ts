/**
 * B4: ten full Hessians of a 1-5-5-1 ReLU network's MSE (46 params) and all
 * their eigenvalues. One hessianOperator is opened in setup and its
 * hessian.onnx session in the untimed warm-up run, so the timing is of the
 * products, not of session creation.
 */
import { hessianEigenvalues, hessianFromOperator, hessianOperator, type HessianOperator } from '../../src/analysis/hessian.ts';
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
  timed: `${REPETITIONS} x (one hessian.onnx run: forward and backward once, ${relu1551.parameterCount} double-backward Loop iterations; the symmetry check, symmetrizing, ml-matrix symmetric eigendecomposition); not opening the session (once per process)`,
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
      const eigenvalues = hessianEigenvalues((await hessianFromOperator(hessian)).matrix);
      largest = eigenvalues[eigenvalues.length - 1]!;
    }
    return { name: 'largest eigenvalue', value: largest };
  },
};

export default workload;
