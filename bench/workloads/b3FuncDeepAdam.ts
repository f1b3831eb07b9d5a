import type { Trainer } from '../../src/runtime/trainer.ts';
import { FIT_STEPS, fitFuncDeep, FUNCTION_POINTS, funcDeep, funcDeepTrainer, sincPoints } from './funcDeepFit.ts';
import { BENCH_DTYPE, type Workload } from './workload.ts';

const workload: Workload<Trainer> = {
  name: 'B3',
  description: `${FIT_STEPS.toLocaleString('en-US')} full-batch Adam 1e-3 steps, MSE, of func-deep (${funcDeep.parameterCount} params) on ${FUNCTION_POINTS.toLocaleString('en-US')} points of sin(5πx)/(5πx)`,
  dtype: BENCH_DTYPE,
  timed: `${FIT_STEPS} full-batch steps (Trainer.trainEpochs, 50 steps per onnxruntime call), then one evaluation of the loss; not session creation`,
  setup: ({ threads }) => funcDeepTrainer(threads),
  async run(trainer) {
    await fitFuncDeep(trainer);
    const { loss } = await trainer.evaluate(sincPoints, FUNCTION_POINTS);
    return { name: 'final MSE', value: loss };
  },
  teardown: (trainer) => trainer.release(),
};

export default workload;
