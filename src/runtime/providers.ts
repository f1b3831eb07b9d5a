/**
 * Execution providers: which exist, how to ask onnxruntime for them, and the
 * one-line error when one cannot be had. There is never a silent fallback to
 * the CPU: a user who asked for CUDA must know when they did not get it.
 */
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { UserError } from '../util/errors.ts';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

export function isExecutionProvider(name: string): name is ExecutionProviderName {
  return (EXECUTION_PROVIDERS as readonly string[]).includes(name);
}

export function providerConfig(ep: ExecutionProviderName): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (ep) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return [{ name: 'cuda', deviceId: 0 }];
    case 'webgpu':
      return ['webgpu'];
  }
}

/** Translates onnxruntime's failure to create a session on a provider into what the user should do. */
export function providerError(ep: ExecutionProviderName, cause: unknown): UserError {
  const detail = String((cause as Error)?.message ?? cause).split('\n')[0]!.slice(0, 200);
  if (ep === 'cuda') {
    if (/load|shared library|\.so/i.test(detail)) {
      return new UserError(
        `execution provider "cuda" is not available: onnxruntime-node's CUDA libraries are not installed or CUDA 12/cuDNN 9 are missing (${detail}); install them with: hw1-onnx setup cuda, or use --ep cpu`,
      );
    }
    return new UserError(`execution provider "cuda" failed to start (${detail}); check the driver with nvidia-smi, run hw1-onnx doctor, or use --ep cpu`);
  }
  if (ep === 'webgpu') {
    return new UserError('execution provider "webgpu" is not available here: no GPU adapter was found through Vulkan; use --ep cpu');
  }
  return new UserError(`execution provider "${ep}" failed (${detail})`);
}

/**
 * Checks what can be checked before onnxruntime tries a provider, because a
 * failed try prints native warnings of its own: WebGPU on Linux needs the
 * Vulkan loader.
 */
export function providerPreflight(ep: ExecutionProviderName): UserError | null {
  if (ep === 'webgpu' && process.platform === 'linux') {
    const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
    if (cache.status === 0 && !cache.stdout.includes('libvulkan.so.1')) {
      return new UserError('execution provider "webgpu" is not available: the Vulkan loader libvulkan.so.1 is missing (Debian: apt-get install libvulkan1) and a GPU with a Vulkan driver is needed; use --ep cpu');
    }
  }
  return null;
}
