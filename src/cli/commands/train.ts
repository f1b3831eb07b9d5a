import type { Argv } from 'yargs';
import { runTraining } from '../../../runners/train.ts';
import { modelNames } from '../../nn/registry.ts';
import { OPTIMIZER_NAMES, optimizerByName } from '../../optim/index.ts';
import { terminalProgress } from '../../runtime/progress.ts';
import { EXECUTION_PROVIDERS } from '../../runtime/providers.ts';
import { numberFlag, providerFlag, wholeNumberFlag } from '../flags.ts';
import { tuneByDefault } from '../../runtime/convTuner.ts';
import { ensureWritableFolder } from '../../util/atomicWrite.ts';
import { UserError } from '../../util/errors.ts';

export const trainCommand = {
  command: 'train <model>',
  describe: 'train a model through its train_step graph; writes out/runs/<id>/',
  builder: (yargs: Argv) =>
    yargs
      .positional('model', { type: 'string', describe: `a model from models/ (${modelNames().join(', ')})`, demandOption: true })
      .option('epochs', { type: 'number', requiresArg: true, default: 3, describe: 'passes over the training set' })
      .option('batch', { type: 'number', requiresArg: true, default: 64, describe: 'batch size' })
      .option('optimizer', { type: 'string', requiresArg: true, default: 'adam', describe: `one of ${OPTIMIZER_NAMES.join(', ')}` })
      .option('lr', { type: 'number', requiresArg: true, describe: "learning rate (default: the optimizer's PyTorch default, 1e-3 for adam)" })
      .option('momentum', { type: 'number', requiresArg: true, describe: 'momentum of sgd or rmsprop (PyTorch default 0)' })
      .option('weight-decay', { type: 'number', requiresArg: true, describe: 'L2 weight decay, decoupled for adamw (PyTorch defaults 0, adamw 0.01)' })
      .option('seed', { type: 'number', requiresArg: true, default: 1, describe: 'seeds the initial weights and the batch order' })
      .option('ep', { type: 'string', requiresArg: true, default: 'cpu', describe: `execution provider: ${EXECUTION_PROVIDERS.join(', ')}` })
      .option('threads', { type: 'number', requiresArg: true, describe: 'intra-op threads (default: all cores)' })
      .option('steps-per-call', { type: 'number', requiresArg: true, describe: 'optimizer steps per onnxruntime call, in an ONNX Loop (default: up to 64)' })
      .option('data-dir', { type: 'string', requiresArg: true, describe: 'folder with the MNIST IDX files or with CIFAR-10 (default: packaged MNIST)' })
      .option('limit-train', { type: 'number', requiresArg: true, describe: 'only the first N training examples (a function: N sample points)' })
      .option('limit-test', { type: 'number', requiresArg: true, describe: 'only the first N test examples (a function: N sample points)' })
      .option('out', { type: 'string', requiresArg: true, default: 'out', describe: 'output folder' })
      .option('run-id', { type: 'string', requiresArg: true, describe: 'name of the run folder (default: model-optimizer-seed-time)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing run folder of the same --run-id' })
      .option('tune', { type: 'boolean', default: tuneByDefault(), describe: 'pick convolution gradients by timing them here (cached); --no-tune: fixed' })
      .example('$0 train mnist-dnn --epochs 3 --batch 64 --optimizer adam --lr 1e-3 --seed 1', 'the walking skeleton run'),
  handler: async (args: Record<string, unknown>) => {
    const optional = (name: string) => (args[name] === undefined ? undefined : wholeNumberFlag(name, args[name], 1));
    const ep = providerFlag(args.ep);
    const optimizer = String(args.optimizer);
    if (!(OPTIMIZER_NAMES as readonly string[]).includes(optimizer)) {
      throw new UserError(`unknown optimizer "${optimizer}" (choose one of: ${OPTIMIZER_NAMES.join(', ')})`);
    }
    const runId = args['run-id'] as string | undefined;
    if (runId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) {
      throw new UserError(`--run-id "${runId}" must start with a letter or digit and use only letters, digits, '.', '_' and '-'`);
    }
    ensureWritableFolder(String(args.out));
    await runTraining(
      {
        model: String(args.model),
        epochs: wholeNumberFlag('epochs', args.epochs, 1),
        batchSize: wholeNumberFlag('batch', args.batch, 1),
        optimizer,
        lr: args.lr === undefined ? optimizerByName(optimizer).defaultLr : numberFlag('lr', args.lr, (v) => v > 0, 'a positive number'),
        momentum: args.momentum === undefined ? undefined : numberFlag('momentum', args.momentum, (v) => v >= 0, 'at least 0'),
        weightDecay: args['weight-decay'] === undefined ? undefined : numberFlag('weight-decay', args['weight-decay'], (v) => v >= 0, 'at least 0'),
        seed: wholeNumberFlag('seed', args.seed, 0),
        ep,
        threads: optional('threads'),
        stepsPerCall: optional('steps-per-call'),
        dataDir: args['data-dir'] as string | undefined,
        limitTrain: optional('limit-train'),
        limitTest: optional('limit-test'),
        outDir: String(args.out),
        runId,
        force: Boolean(args.force),
        tune: Boolean(args.tune),
      },
      terminalProgress(),
    ).then(({ dir }) => console.log(`wrote ${dir}/ (metrics.json, weights.safetensors, train_step.onnx, curves.png)`));
  },
};
