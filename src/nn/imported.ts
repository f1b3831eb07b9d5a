/**
 * A forward graph written by torch.onnx.export, as a model like any other:
 * one layer declaration (type "Imported") whose parameters are the graph's
 * initializers, under their own names (PyTorch's state_dict names where the
 * exporter kept them) and layouts, with their values as the initial weights,
 * and whose forward ops replay the graph's nodes (src/nn/importOps.ts). The
 * graph contract's programs and `train` then work on it unchanged.
 */
import { createHash } from 'node:crypto';
import { Graph, type Value } from '../ir/graph.ts';
import type { Dim } from '../ir/shape.ts';
import { decodeModel, DecodeError, elementTypeName, type DecodedModel, type DecodedTensor } from '../onnx/decode.ts';
import { UserError } from '../util/errors.ts';
import { constantOf, IMPORTED_OPS, NodeCall, NodeImportError, unsupportedOpFix, type Constant, type Entry } from './importOps.ts';
import type { ForwardMode, LayerDeclaration, ParameterSpec } from './layer.ts';
import { LayerShapeError } from './layers.ts';
import type { ModelDeclaration, Task } from './model.ts';

/** The opsets whose semantics the replay follows (torch.onnx.export writes 9 to 17). */
export const IMPORT_OPSETS = { oldest: 9, newest: 17 } as const;

/** A mistake in an imported file: one line, `import FILE: ...`, exit code 2. */
export class ImportError extends UserError {
  override name = 'ImportError';
}

export interface ImportedParameter {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array | Float64Array;
}

/** An ONNX forward graph checked for import: its input, output, parameters and constants. */
export interface ImportedGraph {
  /** The file's name, for messages ("mlp.onnx"). */
  readonly label: string;
  readonly sha256: string;
  readonly model: DecodedModel;
  readonly inputName: string;
  /** The batch size written in the file's input, when it is a number rather than a symbol. */
  readonly fileBatch: number | undefined;
  /** Per-example input shape, without the batch. */
  readonly exampleShape: number[];
  readonly outputName: string;
  /** Float initializers that feed computations, in the file's initializer order (the exporter's state_dict order). */
  readonly parameters: readonly ImportedParameter[];
  /** Every other initializer (shapes, axes, pads): constants of the graph. */
  readonly constants: ReadonlyMap<string, Constant>;
}

/** Names the graph contract gives its own inputs and outputs: a parameter may not take them. */
const RESERVED = new Set(['x', 'target', 'lr', 'step', 'v0', 'iterations', 'tolerance', 'loss', 'y']);
const RESERVED_PREFIXES = ['grad.', 'v.', 'hvp.', 'next.', 'state.', 'const/'];

/**
 * Decodes and checks an ONNX file: one float input [batch, ...example shape],
 * one output, opset 9 to 17, only ops of src/nn/importOps.ts. `inputShape`
 * gives the per-example shape where the file leaves dimensions symbolic.
 */
export function analyzeOnnx(bytes: Uint8Array, label: string, options: { inputShape?: readonly number[] } = {}): ImportedGraph {
  const fail = (message: string): never => {
    throw new ImportError(`import ${label}: ${message}`);
  };
  let model: DecodedModel;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    if (error instanceof DecodeError) fail(error.message);
    return fail(`not an ONNX model (${(error as Error).message}); export one with torch.onnx.export`);
  }
  if (model.opset > IMPORT_OPSETS.newest) fail(`opset ${model.opset} is newer than hw1-onnx reads (${IMPORT_OPSETS.oldest} to ${IMPORT_OPSETS.newest}); export with opset_version=17`);
  if (model.opset < IMPORT_OPSETS.oldest) fail(`opset ${model.opset} is older than hw1-onnx reads (${IMPORT_OPSETS.oldest} to ${IMPORT_OPSETS.newest}); export with opset_version=17`);

  for (const node of model.nodes) {
    const where = `node "${node.name}" (${node.opType})`;
    if (node.domain !== '' && node.domain !== 'ai.onnx') fail(`${where}: the op is from domain "${node.domain}", not standard ONNX; export without custom ops (operator_export_type=ONNX)`);
    const translation = IMPORTED_OPS[node.opType];
    if (!translation) fail(`${where}: hw1-onnx has no gradient rule for ${node.opType}; ${unsupportedOpFix(node.opType)}`);
    for (const [name, attribute] of Object.entries(node.attributes)) {
      if (!translation!.attributes.includes(name)) fail(`${where}: attribute ${name} is not supported; export the model with torch.onnx.export, opset_version=17`);
      if (attribute.kind === 'other') fail(`${where}: attribute ${name} is a ${attribute.type}, which hw1-onnx does not read; export without control flow`);
    }
  }

  const initializerNames = new Set(model.initializers.map((i) => i.name));
  const inputs = model.inputs.filter((i) => !initializerNames.has(i.name));
  if (inputs.length !== 1) fail(`the graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ') || 'none'}); hw1-onnx imports models of one input tensor`);
  if (model.outputs.length !== 1) fail(`the graph has ${model.outputs.length} outputs (${model.outputs.map((o) => o.name).join(', ')}); export a model with one output`);
  const input = inputs[0]!;
  if (input.elemType !== 1 && input.elemType !== 11) fail(`input "${input.name}" is ${elementTypeName(input.elemType)}; export with a float32 input`);
  const { fileBatch, exampleShape } = exampleShapeOf(input.name, input.shape, options.inputShape, fail);

  // A float initializer that feeds a computation is a parameter; one used only as a shape, axes or pads is a constant.
  const dataUses = new Set<string>();
  for (const node of model.nodes) {
    const slots = IMPORTED_OPS[node.opType]!.dataInputs;
    node.inputs.forEach((name, i) => {
      if (name && (slots === 'all' || slots.includes(i))) dataUses.add(name);
    });
  }
  const parameters: ImportedParameter[] = [];
  const constants = new Map<string, Constant>();
  const seen = new Set<string>();
  for (const { name, tensor } of model.initializers) {
    if (seen.has(name)) fail(`initializer "${name}" is given twice; export the model again`);
    seen.add(name);
    if ((tensor.dtype === 'float32' || tensor.dtype === 'float64') && dataUses.has(name)) {
      if (RESERVED.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p))) {
        fail(`initializer "${name}" takes a name of the graph contract (x, target, lr, grad.*, ...); rename that parameter of the module`);
      }
      parameters.push({ name, shape: [...tensor.shape], values: tensor.data as Float32Array | Float64Array });
    } else {
      constants.set(name, constantOf(tensor as DecodedTensor));
    }
  }
  return {
    label,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    model,
    inputName: input.name,
    fileBatch,
    exampleShape,
    outputName: model.outputs[0]!.name,
    parameters,
    constants,
  };
}

function exampleShapeOf(
  name: string,
  shape: Dim[] | undefined,
  given: readonly number[] | undefined,
  fail: (message: string) => never,
): { fileBatch: number | undefined; exampleShape: number[] } {
  const typed = given ? `--input-shape ${given.join(',')}` : '';
  if (!shape) {
    if (!given) fail(`input "${name}" has no shape; give the per-example shape with --input-shape (1,28,28 for MNIST)`);
    return { fileBatch: undefined, exampleShape: [...given!] };
  }
  if (shape.length < 2) fail(`input "${name}" is [${shape.join(', ')}]: the first dimension must be the batch and at least one more must follow; export with an input of shape [batch, ...]`);
  const [batch, ...rest] = shape;
  const fileBatch = typeof batch === 'number' && batch > 0 ? batch : undefined;
  if (given) {
    if (given.length !== rest.length) fail(`${typed} has ${given.length} dimensions, input "${name}" [${shape.join(', ')}] has ${rest.length} after the batch`);
    rest.forEach((dim, i) => {
      if (typeof dim === 'number' && dim > 0 && dim !== given[i]) fail(`${typed} differs from input "${name}" [${shape.join(', ')}] in dimension ${i + 1}`);
    });
    return { fileBatch, exampleShape: [...given] };
  }
  if (!rest.every((d): d is number => typeof d === 'number' && d > 0)) {
    fail(`input "${name}" [${shape.join(', ')}] has dynamic dimensions after the batch; give the per-example shape with --input-shape (1,28,28 for MNIST)`);
  }
  return { fileBatch, exampleShape: rest as number[] };
}

/**
 * Emits the graph's nodes on `x` ([N, ...example shape]) with the given
 * parameter values, returning the output. Train mode makes Dropout active.
 */
export function replayImported(imported: ImportedGraph, x: Value, parameters: ReadonlyMap<string, Value>, mode: ForwardMode): Value {
  const environment = new Map<string, Entry>();
  for (const [name, c] of imported.constants) environment.set(name, { kind: 'constant', constant: c });
  for (const p of imported.parameters) environment.set(p.name, { kind: 'value', value: parameters.get(p.name)! });
  environment.set(imported.inputName, { kind: 'value', value: x });
  const context = { graph: x.graph, dtype: x.dtype, batch: x.shape[0]!, fileBatch: imported.fileBatch, training: mode.training, opset: imported.model.opset };
  for (const node of imported.model.nodes) {
    const call = new NodeCall(node, node.inputs.map((name) => (name ? environment.get(name) : undefined)), context);
    const where = `import ${imported.label}: node "${node.name}" (${node.opType})`;
    node.inputs.forEach((name, i) => {
      if (name && !environment.has(name)) throw new ImportError(`${where}: input ${i + 1} "${name}" is produced by no earlier node; export the model again (the nodes must be in order)`);
    });
    let produced: Entry | Entry[];
    try {
      produced = IMPORTED_OPS[node.opType]!.apply(call);
    } catch (error) {
      // The op functions' own shape checks (plain Errors: Gemm's inner dimensions, ...) become the same one line; bugs keep their stack.
      if (error instanceof NodeImportError || (error as Error)?.constructor === Error) throw new ImportError(`${where}: ${(error as Error).message}`);
      throw error;
    }
    const outputs = Array.isArray(produced) ? produced : [produced];
    node.outputs.forEach((name, i) => {
      if (!name) return;
      const entry = outputs[i];
      if (!entry) throw new ImportError(`${where}: output ${i + 1} "${name}" is not computed by hw1-onnx; use only the node's first output`);
      environment.set(name, entry);
    });
  }
  const output = environment.get(imported.outputName);
  const where = `import ${imported.label}: output "${imported.outputName}"`;
  if (!output || output.kind === 'unavailable') throw new ImportError(`${where} is produced by no node; export the model again`);
  if (output.kind === 'constant') throw new ImportError(`${where} does not depend on the input; export a model whose output is computed from it`);
  const y = output.value;
  if (y.shape[0] !== x.shape[0] || !y.shape.slice(1).every((d) => typeof d === 'number')) {
    throw new ImportError(`${where} is [${y.shape.join(', ')}], not [batch, ...static sizes]; export a model that keeps the batch dimension first`);
  }
  return y;
}

/** The per-example output shape, found by replaying the graph once on a scratch graph. */
export function importedOutputShape(imported: ImportedGraph): number[] {
  const graph = new Graph('import-check');
  const x = graph.addInput('x', 'float32', ['N', ...imported.exampleShape]);
  const parameters = new Map(imported.parameters.map((p) => [p.name, graph.addInput(p.name, 'float32', p.shape)]));
  replayImported(imported, x, parameters, { training: true });
  return replayImported(imported, x, parameters, { training: false }).shape.slice(1) as number[];
}

/** The imported graph as one layer: parameters named exactly as the initializers, no layer prefix. */
export function importedLayer(imported: ImportedGraph): LayerDeclaration {
  return {
    type: 'Imported',
    name: 'imported',
    namePrefix: 'imported',
    resolve(inputShape) {
      if (inputShape.join() !== imported.exampleShape.join()) {
        throw new LayerShapeError(`${imported.label} expects examples of shape [${imported.exampleShape.join(', ')}], got [${inputShape.join(', ')}]`);
      }
      const outputShape = importedOutputShape(imported);
      const parameters: ParameterSpec[] = imported.parameters.map((p) => ({
        name: p.name,
        shape: p.shape,
        init: { kind: 'values', values: p.values, digest: imported.sha256 },
      }));
      return {
        outputShape,
        parameters,
        attributes: { onnx_sha256: imported.sha256, opset: imported.model.opset, ops: [...new Set(imported.model.nodes.map((n) => n.opType))].join(',') },
        apply: (x, values, mode) => replayImported(imported, x, values, mode),
      };
    },
  };
}

/** What `import` records beside the .onnx file (models/imported/<name>.json). */
export interface ImportedModelRecord {
  readonly name: string;
  readonly description: string;
  readonly task: Task;
  readonly inputShape: number[];
  readonly dataset: string;
  /** The file it was imported from, as given. */
  readonly source: string;
  readonly sha256: string;
}

export function importedModelDeclaration(imported: ImportedGraph, record: Omit<ImportedModelRecord, 'sha256' | 'source' | 'inputShape'>): ModelDeclaration {
  return {
    name: record.name,
    description: record.description,
    task: record.task,
    inputShape: imported.exampleShape,
    dataset: record.dataset,
    layers: [importedLayer(imported)],
  };
}

/** The data set an input shape suggests: MNIST, CIFAR-10, or the 1-D function of HW1's regression. */
export function defaultDataset(inputShape: readonly number[]): string | undefined {
  const shape = inputShape.join(',');
  return { '1,28,28': 'mnist', '3,32,32': 'cifar10', '1': 'function:sinc' }[shape];
}

/** A one-output model is a regression, more outputs are class logits. */
export function defaultTask(outputShape: readonly number[]): Task {
  return outputShape.length === 1 && outputShape[0] === 1 ? 'regression' : 'classification';
}

export function defaultDescription(imported: ImportedGraph): string {
  const ops = imported.model.nodes.map((n) => n.opType).filter((op) => !['Constant', 'Shape', 'Gather', 'Unsqueeze', 'Concat', 'Identity'].includes(op));
  const shown = ops.length > 12 ? [...ops.slice(0, 12), '...'] : ops;
  const producer = imported.model.producer ? `${imported.model.producer}, ` : '';
  return `imported from ${imported.label} (${producer}opset ${imported.model.opset}): ${shown.join(', ')}`;
}
