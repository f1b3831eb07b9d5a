import type { Argv } from 'yargs';
import { allModelDeclarations, findModel, modelNames } from '../../nn/registry.ts';
import { resolveModel } from '../../nn/model.ts';
import { modelSummary } from '../../nn/summary.ts';
import { writeModelPrograms } from '../../programs/build.ts';
import { ensureWritableFolder } from '../../util/atomicWrite.ts';
import { UserError } from '../../util/errors.ts';
import { float32OnlyLayers } from '../../nn/float64Support.ts';
import { tuneByDefault, tuneConvFormulations } from '../../runtime/convTuner.ts';

/** The batch size graphs are tuned at by `build` (N stays symbolic in them). */
const TUNING_BATCH = 64;

export const buildCommand = {
  command: 'build <what>',
  describe: 'emit every model\'s ONNX graphs and manifest.json into graphs/',
  builder: (yargs: Argv) =>
    yargs
      .positional('what', { choices: ['models'] as const, describe: 'what to build', demandOption: true })
      .option('out', { type: 'string', default: 'graphs', requiresArg: true, describe: 'folder that receives <model>/*.onnx' })
      .option('model', { type: 'string', array: true, requiresArg: true, describe: 'only these models (default: all)' })
      .option('dtype', { choices: ['float32', 'float64'] as const, default: 'float32' as const, requiresArg: true, describe: 'element type of the graphs' })
      .option('list', { type: 'boolean', default: false, describe: 'list the models with their parameter counts and exit' })
      .option('summary', { type: 'boolean', default: false, describe: 'print each model\'s layer table' })
      .option('tune', { type: 'boolean', default: tuneByDefault(), describe: `pick convolution gradients by timing them here at batch ${TUNING_BATCH} (cached); --no-tune: fixed` })
      .example('$0 build models', 'writes graphs/<model>/ for every model in models/')
      .example('$0 build models --list', 'lists the models'),
  handler: async (args: { out: string; model?: string[]; dtype: 'float32' | 'float64'; list: boolean; summary: boolean; tune: boolean }) => {
    if (args.list) {
      for (const declaration of allModelDeclarations()) {
        const model = resolveModel(declaration);
        console.log(`${model.name.padEnd(18)} ${model.parameterCount.toLocaleString('en-US').padStart(9)} params  ${model.description}`);
      }
      return;
    }
    ensureWritableFolder(args.out);
    let models = (args.model ?? modelNames()).map(findModel);
    if (args.dtype === 'float64') {
      const unrunnable = models.map((model) => ({ model, layers: float32OnlyLayers(model) })).filter((m) => m.layers.length > 0);
      const describe = (m: (typeof unrunnable)[number]) => `${m.model.name} (${m.layers.join(', ')})`;
      // Named models are refused; of all models, those that cannot run in float64 are left out with a line.
      if (args.model && unrunnable.length > 0) {
        throw new UserError(
          `--dtype float64: ${unrunnable.map(describe).join('; ')} cannot run in float64 here: onnxruntime's CPU provider has no float64 Conv, ConvTranspose or AveragePool kernel; build ${unrunnable.length > 1 ? 'them' : 'it'} with --dtype float32`,
        );
      }
      for (const m of unrunnable) console.log(`${m.model.name}: skipped in float64 (${m.layers.join(', ')}: no float64 kernels in onnxruntime's CPU provider; use --dtype float32)`);
      models = models.filter((model) => float32OnlyLayers(model).length === 0);
    }
    for (const model of models) {
      if (args.summary) console.log(modelSummary(model) + '\n');
      const tuned = args.tune ? await tuneConvFormulations(model, { batchSize: TUNING_BATCH, dtype: args.dtype }) : undefined;
      const { dir, manifest, bytes } = writeModelPrograms(model, args.out, { dtype: args.dtype, convFormulations: tuned?.chooser });
      console.log(`${model.name}: ${Object.keys(manifest.graphs).length} graphs (${(bytes / 1024).toFixed(1)} KiB) + manifest.json -> ${dir}/`);
    }
  },
};
