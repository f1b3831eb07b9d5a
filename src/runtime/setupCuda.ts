/**
 * `hw1-onnx setup cuda`: runs onnxruntime-node's own installer for its CUDA 12
 * provider libraries (the download our .npmrc skips during npm install), and
 * turns each way it can fail into one line.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.ts';

export function hasNvidiaDriver(): boolean {
  return spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).status === 0;
}

/** The highest CUDA version the driver supports, from nvidia-smi's banner ("CUDA Version: 12.4"), or undefined. */
export function driverCudaVersion(): { major: number; minor: number } | undefined {
  const banner = spawnSync('nvidia-smi', [], { encoding: 'utf8' }).stdout ?? '';
  const match = /CUDA Version:\s*(\d+)\.(\d+)/.exec(banner);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

export function installCudaProvider(): string {
  if (!hasNvidiaDriver()) {
    throw new UserError('no NVIDIA driver found (nvidia-smi did not run); CUDA needs an NVIDIA GPU with its driver; use --ep cpu here');
  }
  // onnxruntime-node 1.30 ships CUDA 12 providers only: an older driver cannot run them.
  const cuda = driverCudaVersion();
  if (cuda && cuda.major < 12) {
    throw new UserError(`the NVIDIA driver supports CUDA ${cuda.major}.${cuda.minor}, but onnxruntime-node's CUDA provider needs CUDA 12; update the driver, or use --ep cpu`);
  }
  const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const result = spawnSync(process.execPath, [join(packageDir, 'script', 'install')], {
    cwd: packageDir,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
    encoding: 'utf8',
  });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status !== 0) {
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|getaddrinfo/.test(output)) {
      throw new UserError('cannot download the CUDA provider libraries (offline?): onnxruntime-node fetches them from NuGet; run hw1-onnx setup cuda on a machine with internet access');
    }
    const last = output.trim().split('\n').filter(Boolean).at(-1) ?? `exit code ${result.status}`;
    throw new UserError(`onnxruntime-node's CUDA installer failed: ${last.slice(0, 200)}`);
  }
  return 'installed onnxruntime-node\'s CUDA 12 provider libraries; check them with: hw1-onnx doctor (needs CUDA 12 and cuDNN 9 on the library path)';
}
