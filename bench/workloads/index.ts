/**
 * The benchmark workloads by name. Modules load lazily, so the CLI can check
 * names (and fail fast) without starting onnxruntime or parsing MNIST.
 */
import type { Workload } from './workload.ts';

const MODULES: Readonly<Record<string, () => Promise<{ default: Workload<unknown> }>>> = {
  B1: () => import('./b1MnistDnnEpoch.ts'),
  B2: () => import('./b2MnistCnnEpoch.ts'),
  B3: () => import('./b3FuncDeepAdam.ts'),
  B4: () => import('./b4FullHessian.ts'),
  B5: () => import('./b5TopEigenvalue.ts'),
  B6: () => import('./b6GradNormSteps.ts'),
  B7: () => import('./b7MnistEvaluation.ts'),
};

export const WORKLOAD_NAMES: readonly string[] = Object.keys(MODULES);

export function isWorkloadName(name: string): boolean {
  return Object.hasOwn(MODULES, name);
}

export async function loadWorkload(name: string): Promise<Workload<unknown>> {
  const load = MODULES[name];
  if (!load) throw new Error(`unknown workload "${name}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  return (await load()).default;
}
