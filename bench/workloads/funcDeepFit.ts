/**
 * Full-batch Adam on func-deep (1-10-18-15-4-1, 572 params) fitting
 * sin(5πx)/(5πx) at 1,000 points of (0, 1]: the B3 workload, and the
 * starting point of B6.
 */
import { sampleFunction } from '../../src/data/functions.ts';
import type { ParameterValues } from '../../src/nn/init.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { findModel } from '../../src/nn/registry.ts';
import { adam } from '../../src/optim/adam.ts';
import { defaultStepsPerCall, Trainer } from '../../src/runtime/trainer.ts';
import { Random } from '../../src/util/random.ts';
import { BENCH_DTYPE, BENCH_SEED } from './workload.ts';

export const FUNCTION_POINTS = 1000;
export const FIT_STEPS = 2000;
export const FIT_LR = 1e-3;

export const funcDeep = findModel('func-deep');
export const sincPoints = sampleFunction('sinc', FUNCTION_POINTS);

export function funcDeepTrainer(threads: number): Promise<Trainer> {
  return Trainer.create(funcDeep, adam(), initializeParameters(funcDeep, BENCH_SEED, BENCH_DTYPE), {
    threads,
    dtype: BENCH_DTYPE,
    stepsPerCall: defaultStepsPerCall(funcDeep, FUNCTION_POINTS),
  });
}

/**
 * FIT_STEPS full-batch steps: an epoch with the batch size equal to the data
 * set is one step, and trainEpochs runs many of them per call (an ONNX Loop).
 */
export async function fitFuncDeep(trainer: Trainer): Promise<void> {
  await trainer.trainEpochs(sincPoints, FIT_STEPS, { batchSize: FUNCTION_POINTS, lr: FIT_LR, random: new Random(BENCH_SEED) });
}

/** The B3-trained weights, trained once per process. */
let trained: Promise<ParameterValues> | undefined;
export function funcDeepTrainedWeights(threads: number): Promise<ParameterValues> {
  trained ??= (async () => {
    const trainer = await funcDeepTrainer(threads);
    await fitFuncDeep(trainer);
    const weights = trainer.parameters();
    await trainer.release();
    return weights;
  })();
  return trained;
}
