import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { Argv } from 'yargs';
import { analyzeOnnx, defaultDataset, defaultDescription, defaultTask, importedModelDeclaration, importedOutputShape, type ImportedModelRecord } from '../../nn/imported.ts';
import { MODEL_NAME, saveImportedModel } from '../../nn/importedStore.ts';
import { resolveModel, type Task } from '../../nn/model.ts';
import { modelDeclarations } from '../../../models/index.ts';
import { TARGET_FUNCTIONS } from '../../data/functions.ts';
import { gradientGraph } from '../../programs/programs.ts';
import { hvpGraph } from '../../programs/secondOrder.ts';
import { UserError } from '../../util/errors.ts';

function parseInputShape(text: unknown): number[] | undefined {
  if (text === undefined) return undefined;
  if (Array.isArray(text)) throw new UserError(`--input-shape is given ${text.length} times; give it once`);
  const dims = String(text).split(',').map((part) => part.trim());
  if (!dims.every((d) => /^[1-9][0-9]*$/.test(d))) throw new UserError(`--input-shape must be positive whole numbers separated by commas (1,28,28), got ${JSON.stringify(String(text))}`);
  return dims.map(Number);
}

/** "My_Net.v2.onnx" -> "my-net-v2". */
function nameFromFile(file: string): string {
  return basename(file).replace(/\.onnx$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

export const importCommand = {
  command: 'import <file>',
  describe: 'import a torch.onnx.export forward graph as a model (models/imported/)',
  builder: (yargs: Argv) =>
    yargs
      .positional('file', { type: 'string', describe: 'the .onnx file (opset up to 17)', demandOption: true })
      .option('name', { type: 'string', requiresArg: true, describe: 'model name (default: from the file name)' })
      .option('task', { choices: ['classification', 'regression'] as const, requiresArg: true, describe: 'default: classification; regression for one output' })
      .option('input-shape', { type: 'string', requiresArg: true, describe: 'per-example input shape, e.g. 1,28,28' })
      .option('dataset', { type: 'string', requiresArg: true, describe: 'mnist, cifar10 or function:<name> (default: from the input shape)' })
      .option('description', { type: 'string', requiresArg: true, describe: 'one line shown by build models --list' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an imported model of the same name' })
      .example('$0 import mlp.onnx --name my-mlp', 'then: hw1-onnx build models --model my-mlp; hw1-onnx train my-mlp'),
  handler: (args: Record<string, unknown>) => {
    const file = String(args.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new UserError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); name an .onnx file written by torch.onnx.export`);
    }
    const name = args.name === undefined ? nameFromFile(file) : String(args.name);
    if (!MODEL_NAME.test(name)) throw new UserError(`model name "${name}" must be lower-case letters, digits and dashes${args.name === undefined ? '; give one with --name' : ''}`);
    if (modelDeclarations.some((d) => d.name === name)) throw new UserError(`"${name}" is a model of models/ already; choose another --name`);

    const imported = analyzeOnnx(bytes, basename(file), { inputShape: parseInputShape(args['input-shape']) });
    const outputShape = importedOutputShape(imported);
    const task = (args.task as Task | undefined) ?? defaultTask(outputShape);
    const dataset = (args.dataset as string | undefined) ?? defaultDataset(imported.exampleShape);
    if (dataset === undefined) {
      throw new UserError(`import ${basename(file)}: no data set fits inputs of shape [${imported.exampleShape.join(', ')}]; name one with --dataset (mnist: 1,28,28; cifar10: 3,32,32; function:sinc: 1)`);
    }
    const functionName = dataset.startsWith('function:') ? dataset.slice('function:'.length) : undefined;
    if (functionName === undefined ? !['mnist', 'cifar10'].includes(dataset) : !(functionName in TARGET_FUNCTIONS)) {
      throw new UserError(`--dataset "${dataset}" is not mnist, cifar10 or one of ${Object.keys(TARGET_FUNCTIONS).map((f) => `function:${f}`).join(', ')}`);
    }
    const record: ImportedModelRecord = {
      name,
      description: (args.description as string | undefined) ?? defaultDescription(imported),
      task,
      inputShape: imported.exampleShape,
      dataset,
      source: basename(file),
      sha256: imported.sha256,
    };
    // Resolving and differentiating twice here finds what `build models` would refuse, before anything is written.
    const model = resolveModel(importedModelDeclaration(imported, record));
    gradientGraph(model);
    hvpGraph(model);
    const paths = saveImportedModel(record, bytes, Boolean(args.force));

    const shown = model.parameters.slice(0, 6).map((p) => `${p.name} [${p.shape.join(', ')}]`);
    if (model.parameters.length > 6) shown.push(`... ${model.parameters.length - 6} more`);
    console.log(`imported ${name}: ${model.parameterCount.toLocaleString('en-US')} parameters (${shown.join(', ') || 'none'}), input [${model.inputShape.join(', ')}], output [${model.outputShape.join(', ')}], ${task} on ${dataset}`);
    const last = imported.model.nodes.at(-1)?.opType;
    if (task === 'classification' && last === 'Softmax') {
      console.log(`note: the graph ends in Softmax; the loss treats its outputs as logits (as nn.CrossEntropyLoss would); export without the final Softmax to train on logits`);
    }
    const inHere = relative(process.cwd(), paths.onnx);
    console.log(`wrote ${inHere.startsWith('..') ? paths.onnx : inHere} and ${basename(paths.json)}; next: hw1-onnx build models --model ${name}, hw1-onnx train ${name}`);
  },
};
