/**
 * B6: 500 Adam 1e-3 steps on ||grad L||^2 of func-deep, from the B3-trained
 * weights (trained once per process, before any timing), in one
 * gradnorm_steps.onnx call: an ONNX Loop of 501 steps whose last one only
 * serves to read the gradient norm at the weights the 500 updates reached.
 */
import type * as ort from 'onnxruntime-node';
import { floatArray } from '../../src/ir/dtype.ts';
import { adam } from '../../src/optim/adam.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { stateInputName } from '../../src/programs/programs.ts';
import { gradNormStepsGraph } from '../../src/programs/secondOrder.ts';
import { createSession } from '../../src/runtime/session.ts';
import { scalarTensor, tensorOf } from '../../src/runtime/tensors.ts';
import { FIT_STEPS, FUNCTION_POINTS, funcDeep, funcDeepTrainedWeights, sincPoints } from './funcDeepFit.ts';
import { BENCH_DTYPE, type Workload } from './workload.ts';

const STEPS = 500;
const LEARNING_RATE = 1e-3;
const optimizer = adam();

interface GradNormState {
  session: ort.InferenceSession;
  /** x, target, the learning rates and the first step number. */
  fixed: Record<string, ort.Tensor>;
  /** Parameters and Adam state at the start (every run starts from them). */
  carried: Map<string, ort.Tensor>;
}

let session: Promise<ort.InferenceSession> | undefined;

const workload: Workload<GradNormState> = {
  name: 'B6',
  description: `${STEPS} Adam 1e-3 steps on ||grad L||^2 (gradnorm_step) of func-deep (${funcDeep.parameterCount} params, MSE on ${FUNCTION_POINTS.toLocaleString('en-US')} sinc points) from the B3-trained weights (${FIT_STEPS} Adam steps, trained once, untimed)`,
  dtype: BENCH_DTYPE,
  timed: `one gradnorm_steps.onnx run of ${STEPS + 1} steps (the last one's pre-update gradient norm is the result); not the B3 training, graph building or session creation`,
  async setup({ threads }) {
    const weights = await funcDeepTrainedWeights(threads);
    session ??= createSession(serializeGraph(gradNormStepsGraph(funcDeep, optimizer, BENCH_DTYPE)), { threads });
    const fixed: Record<string, ort.Tensor> = {
      x: tensorOf(BENCH_DTYPE, sincPoints.inputs, [sincPoints.count, 1]),
      target: tensorOf(BENCH_DTYPE, sincPoints.targets!, [sincPoints.count, 1]),
      lr: tensorOf(BENCH_DTYPE, floatArray(BENCH_DTYPE, STEPS + 1).fill(LEARNING_RATE), [STEPS + 1]),
      step: scalarTensor('int64', 1),
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
  async run({ session: gradNormSteps, fixed, carried }) {
    const outputs = await gradNormSteps.run({ ...fixed, ...Object.fromEntries(carried) });
    const norms = outputs.grad_norm!.data as Float32Array | Float64Array;
    const gradNorm = Number(norms[STEPS]);
    const diverged = norms.findIndex((value) => !Number.isFinite(value));
    if (diverged >= 0) throw new Error(`B6: the gradient norm became ${norms[diverged]} at step ${diverged + 1}`);
    return { name: 'final gradient norm', value: gradNorm };
  },
};

export default workload;
