/** B1 and B2: one shuffled epoch of the 60,000 MNIST training images, Adam 1e-3, batch 64, then the test accuracy. */
import { loadMnist } from '../../src/data/mnist.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { adam } from '../../src/optim/adam.ts';
import { tuneByDefault } from '../../src/runtime/convTuner.ts';
import { defaultStepsPerCall, Trainer } from '../../src/runtime/trainer.ts';
import { Random } from '../../src/util/random.ts';
import { BENCH_DTYPE, BENCH_SEED, type Workload } from './workload.ts';

const BATCH_SIZE = 64;
const LEARNING_RATE = 1e-3;

export function mnistEpochWorkload(name: string, modelName: string): Workload<Trainer> {
  const model = findModel(modelName);
  return {
    name,
    description: `one epoch of MNIST (60,000 images, shuffled, seed ${BENCH_SEED}) on ${modelName} (${model.parameterCount.toLocaleString('en-US')} params), Adam 1e-3, batch ${BATCH_SIZE}; then the 10,000 test images`,
    dtype: BENCH_DTYPE,
    timed: `Trainer.trainEpoch (938 steps, ${defaultStepsPerCall(model, BATCH_SIZE)} per onnxruntime call, the shuffle and batch gathering; no per-step gradient norm, which the PyTorch loop does not compute either) and Trainer.evaluate on the test set (chunks of 1,000); not MNIST parsing, graph building or session creation`,
    async setup({ threads }) {
      loadMnist();
      return Trainer.create(model, adam(), initializeParameters(model, BENCH_SEED, BENCH_DTYPE), {
        threads,
        dtype: BENCH_DTYPE,
        stepsPerCall: defaultStepsPerCall(model, BATCH_SIZE),
        gradientNorms: false,
        // As `hw1-onnx run` does: convolutions take the formulations measured on this machine (cached after the first time).
        tuneBatchSize: tuneByDefault() ? BATCH_SIZE : undefined,
      });
    },
    async run(trainer) {
      const { train, test } = loadMnist();
      await trainer.trainEpoch(train, { batchSize: BATCH_SIZE, lr: LEARNING_RATE, random: new Random(BENCH_SEED) });
      const { accuracy } = await trainer.evaluate(test, 1000);
      return { name: 'test accuracy', value: accuracy! };
    },
    teardown: (trainer) => trainer.release(),
  };
}
