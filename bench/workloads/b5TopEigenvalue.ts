/** B5: the top Hessian eigenvalue of mnist-dnn-small on 1,000 MNIST images, 20 power iterations of exact HVPs. */
import { hessianOperator, topHessianEigenvalue, type HessianOperator } from '../../src/analysis/hessian.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { BENCH_DTYPE, BENCH_SEED, type Workload } from './workload.ts';

const IMAGES = 1000;
const ITERATIONS = 20;
// float32 like every workload (the default; PyTorch's side too). hessianOperator's
// own default is float64; in float64 both sides take about 1.7x longer.
const DTYPE = BENCH_DTYPE;
const model = findModel('mnist-dnn-small');

let operator: Promise<HessianOperator> | undefined;

const workload: Workload<HessianOperator> = {
  name: 'B5',
  description: `top Hessian eigenvalue of mnist-dnn-small (${model.parameterCount.toLocaleString('en-US')} params, initial weights seed ${BENCH_SEED}) on the first ${IMAGES.toLocaleString('en-US')} MNIST training images, ${ITERATIONS} power iterations of exact HVPs, ${DTYPE}`,
  dtype: DTYPE,
  timed: `topHessianEigenvalue with iterations ${ITERATIONS}, tolerance 0 (one power_iteration.onnx run: forward + backward over the ${IMAGES} images once, then ${ITERATIONS} double-backward Loop iterations); not opening the session (once per process)`,
  setup({ threads }) {
    operator ??= (async () => {
      const { train } = loadMnist({ limitTrain: IMAGES });
      return hessianOperator(model, initializeParameters(model, BENCH_SEED, DTYPE), { x: train.inputs, target: train.labels }, { threads, dtype: DTYPE });
    })();
    return operator;
  },
  async run(hessian) {
    const top = await topHessianEigenvalue(hessian, { iterations: ITERATIONS, tolerance: 0, seed: BENCH_SEED });
    if (top.iterations !== ITERATIONS) throw new Error(`B5: power iteration stopped after ${top.iterations} of ${ITERATIONS} products`);
    return { name: 'top eigenvalue', value: top.eigenvalue };
  },
};

export default workload;
