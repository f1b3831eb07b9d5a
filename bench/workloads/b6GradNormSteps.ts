/**
 * B6: 500 Adam 1e-3 steps on ||grad L||^2 (gradnorm_step.onnx) of func-deep,
 * from the B3-trained weights (trained once per process, before any timing).
 * The Trainer runs only train_step graphs, so this loop feeds the
 * gradnorm_step session the way Trainer.trainEpoch feeds train_step: the
 * outputs next.* of one step are the inputs of the next.
 */
import type * as ort from 'onnxruntime-node';
import { floatArray } from '../../src/ir/dtype.ts';
import { adam } from '../../src/optim/adam.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { nextName, stateInputName } from '../../src/programs/programs.ts';
import { gradNormStepGraph } from '../../src/programs/secondOrder.ts';
import { createSession } from '../../src/runtime/session.ts';
import { scalarOf, scalarTensor, tensorOf } from '../../src/runtime/tensors.ts';
import { FIT_STEPS, FUNCTION_POINTS, funcDeep, funcDeepTrainedWeights, sincPoints } from './funcDeepFit.ts';
import { BENCH_DTYPE, type Workload } from './workload.ts';

const STEPS = 500;
const LEARNING_RATE = 1e-3;
const optimizer = adam();

interface GradNormState {
  session: ort.InferenceSession;
  /** x, target and lr: the same every step. */
  fixed: Record<string, ort.Tensor>;
  /** Parameters and Adam state, replaced by next.* after each step. */
  carried: Map<string, ort.Tensor>;
}

let session: Promise<ort.InferenceSession> | undefined;

const workload: Workload<GradNormState> = {
  name: 'B6',
  description: `${STEPS} Adam 1e-3 steps on ||grad L||^2 (gradnorm_step) of func-deep (${funcDeep.parameterCount} params, MSE on ${FUNCTION_POINTS.toLocaleString('en-US')} sinc points) from the B3-trained weights (${FIT_STEPS} Adam steps, trained once, untimed)`,
  dtype: BENCH_DTYPE,
  timed: `${STEPS} gradnorm_step.onnx runs, then one more run to read the final gradient norm; not the B3 training, graph building or session creation`,
  async setup({ threads }) {
    const weights = await funcDeepTrainedWeights(threads);
    session ??= createSession(serializeGraph(gradNormStepGraph(funcDeep, optimizer, BENCH_DTYPE)), { threads });
    const fixed: Record<string, ort.Tensor> = {
      x: tensorOf(BENCH_DTYPE, sincPoints.inputs, [sincPoints.count, 1]),
      target: tensorOf(BENCH_DTYPE, sincPoints.targets!, [sincPoints.count, 1]),
      lr: scalarTensor(BENCH_DTYPE, LEARNING_RATE),
    };
    const carried = new Map<string, ort.Tensor>();
    for (const parameter of funcDeep.parameters) {
      const values = weights.get(parameter.name)!;
      carried.set(parameter.name, tensorOf(BENCH_DTYPE, values.slice(), parameter.shape));
      for (const slot of optimizer.stateSlots) {
        const start = floatArray(BENCH_DTYPE, values.length).fill(optimizer.initialState?.[slot] ?? 0);
        carried.set(stateInputName(parameter.name, slot), tensorOf(BENCH_DTYPE, start, parameter.shape));
      }
    }
    return { session: await session, fixed, carried };
  },
  async run({ session: gradNormStep, fixed, carried }) {
    let gradNorm = Number.NaN;
    for (let step = 1; step <= STEPS + 1; step++) {
      const outputs = await gradNormStep.run({ ...fixed, ...Object.fromEntries(carried), step: scalarTensor('int64', step) });
      gradNorm = scalarOf(outputs.grad_norm!);
      if (!Number.isFinite(gradNorm)) throw new Error(`B6: the gradient norm became ${gradNorm} at step ${step}`);
      // The extra run only measures the gradient norm at the weights the STEPS updates reached.
      if (step > STEPS) break;
      for (const name of carried.keys()) carried.set(name, outputs[nextName(name)]!);
    }
    return { name: 'final gradient norm', value: gradNorm };
  },
};

export default workload;
