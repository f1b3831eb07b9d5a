import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { providerConfig, providerError, providerPreflight, type ExecutionProviderName } from './providers.ts';

export interface RuntimeOptions {
  ep?: ExecutionProviderName;
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
}

// onnxruntime prints its own multi-line log for a provider that fails to load;
// we turn that failure into one line (providers.ts), so keep only fatal logs.
ort.env.logLevel = 'fatal';

export async function createSession(model: Uint8Array, options: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  const ep = options.ep ?? 'cpu';
  const missing = providerPreflight(ep);
  if (missing) throw missing;
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: providerConfig(ep),
      intraOpNumThreads: options.threads ?? Math.max(1, cpus().length),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      // Flush subnormal floats to zero. Adam's second moments of rarely used
      // weights decay into the subnormal range, where x86 arithmetic is many
      // times slower: mnist-dnn's second and third epochs took 1.5 s instead of
      // 1.0 s. Values below 1.2e-38 (float32) change no result we report.
      extra: { session: { set_denormal_as_zero: '1' } },
    });
  } catch (cause) {
    if (ep === 'cpu') throw cause;
    throw providerError(ep, cause);
  }
}
