/** B7: evaluating the 10,000 MNIST test images with the B1 network at its initial weights, chunks of 1,000. */
import { loadMnist } from '../../src/data/mnist.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { adam } from '../../src/optim/adam.ts';
import { Trainer } from '../../src/runtime/trainer.ts';
import { BENCH_DTYPE, BENCH_SEED, type Workload } from './workload.ts';

const CHUNK = 1000;
const model = findModel('mnist-dnn');

let trainer: Promise<Trainer> | undefined;

const workload: Workload<Trainer> = {
  name: 'B7',
  description: `evaluation of the 10,000 MNIST test images by mnist-dnn (${model.parameterCount.toLocaleString('en-US')} params) at its initial weights (seed ${BENCH_SEED}, untrained), chunks of ${CHUNK.toLocaleString('en-US')}`,
  dtype: BENCH_DTYPE,
  timed: `Trainer.evaluate (10 eval.onnx runs, the chunk gathering); not MNIST parsing or session creation`,
  setup({ threads }) {
    loadMnist();
    trainer ??= Trainer.create(model, adam(), initializeParameters(model, BENCH_SEED, BENCH_DTYPE), { threads, dtype: BENCH_DTYPE });
    return trainer;
  },
  async run(evaluator) {
    const { loss } = await evaluator.evaluate(loadMnist().test, CHUNK);
    return { name: 'test loss', value: loss };
  },
};

export default workload;
