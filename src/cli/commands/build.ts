import type { Argv } from 'yargs';
import { modelDeclarations } from '../../../models/index.ts';
import { findModel } from '../../nn/registry.ts';
import { resolveModel } from '../../nn/model.ts';
import { modelSummary } from '../../nn/summary.ts';
import { writeModelPrograms } from '../../programs/build.ts';
import { ensureWritableFolder } from '../../util/atomicWrite.ts';

export const buildCommand = {
  command: 'build <what>',
  describe: 'emit every model\'s ONNX graphs and manifest.json into graphs/',
  builder: (yargs: Argv) =>
    yargs
      .positional('what', { choices: ['models'] as const, describe: 'what to build', demandOption: true })
      .option('out', { type: 'string', default: 'graphs', describe: 'folder that receives <model>/*.onnx' })
      .option('model', { type: 'string', array: true, describe: 'only these models (default: all)' })
      .option('dtype', { choices: ['float32', 'float64'] as const, default: 'float32' as const, describe: 'element type of the graphs' })
      .option('list', { type: 'boolean', default: false, describe: 'list the models with their parameter counts and exit' })
      .option('summary', { type: 'boolean', default: false, describe: 'print each model\'s layer table' })
      .example('$0 build models', 'writes graphs/<model>/ for every model in models/')
      .example('$0 build models --list', 'lists the models'),
  handler: (args: { out: string; model?: string[]; dtype: 'float32' | 'float64'; list: boolean; summary: boolean }) => {
    if (args.list) {
      for (const declaration of modelDeclarations) {
        const model = resolveModel(declaration);
        console.log(`${model.name.padEnd(18)} ${model.parameterCount.toLocaleString('en-US').padStart(9)} params  ${model.description}`);
      }
      return;
    }
    ensureWritableFolder(args.out);
    const models = (args.model ?? modelDeclarations.map((d) => d.name)).map(findModel);
    for (const model of models) {
      if (args.summary) console.log(modelSummary(model) + '\n');
      const { dir, manifest, bytes } = writeModelPrograms(model, args.out, { dtype: args.dtype });
      console.log(`${model.name}: ${Object.keys(manifest.graphs).length} graphs (${(bytes / 1024).toFixed(1)} KiB) + manifest.json -> ${dir}/`);
    }
  },
};
