import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { providerConfig, providerError, type ExecutionProviderName } from './providers.ts';

export interface RuntimeOptions {
  ep?: ExecutionProviderName;
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
}

export async function createSession(model: Uint8Array, options: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  const ep = options.ep ?? 'cpu';
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: providerConfig(ep),
      intraOpNumThreads: options.threads ?? Math.max(1, cpus().length),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    if (ep === 'cpu') throw cause;
    throw providerError(ep, cause);
  }
}
