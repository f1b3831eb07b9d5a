import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { initializeParameters } from '../../src/nn/init.ts';
import { analyzeOnnx, ImportError, importedModelDeclaration, type ImportedGraph } from '../../src/nn/imported.ts';
import { resolveModel, type Model } from '../../src/nn/model.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { writeModelPrograms } from '../../src/programs/build.ts';
import { forwardGraph } from '../../src/programs/programs.ts';
import { hvpGraph } from '../../src/programs/secondOrder.ts';
import { canonicalJson, specIdentity } from '../../src/experiments/specHash.ts';
import type { RunSpec } from '../../src/experiments/types.ts';
import { createSession } from '../../src/runtime/session.ts';
import { UserError } from '../../src/util/errors.ts';
import { CHECKER_SKIP_REASON, checkOnnxFiles, onnxCheckerVersion } from '../support/onnxChecker.ts';

// Models exported by torch.onnx.export and PyTorch's float64 loss, gradients
// and Hessian-vector products on their weights and one batch
// (test/fixtures/generate_import_reference.py).

const { onnx } = onnxProto;

interface Compared {
  values: string;
  norm: number;
  indices?: number[];
}

interface Reference {
  names: string[];
  shapes: number[][];
  logits: string;
  loss: number;
  gradients: Record<string, Compared>;
  hvp: Record<string, Compared>;
}

const fixtureUrl = (file: string) => new URL(`../fixtures/${file}`, import.meta.url);
const fixture = JSON.parse(readFileSync(fixtureUrl('import-reference.json'), 'utf8')) as {
  torch: string;
  pixels: number[];
  shape: number[];
  labels: number[];
  models: Record<'mlp' | 'cnn' | 'view', Reference>;
};

const float64 = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** v[k][i] = sin(1 + 0.37 i + 2.1 k), as the generator computes it. */
const direction = (k: number, length: number) => Float64Array.from({ length }, (_, i) => Math.sin(1 + 0.37 * i + 2.1 * k));

function importFixture(name: string, inputShape?: number[]): ImportedGraph {
  return analyzeOnnx(readFileSync(fixtureUrl(`import-${name}.onnx`)), `import-${name}.onnx`, { inputShape });
}

function modelOf(imported: ImportedGraph, name: string): Model {
  return resolveModel(importedModelDeclaration(imported, { name, description: '', task: 'classification', dataset: 'mnist' }));
}

/** Largest absolute difference over the reference's largest magnitude. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let difference = 0;
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}

const norm = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((sum, v) => sum + v * v, 0));

/** Compares a full tensor, or the sampled entries and the norm of a large one; returns the worst relative error. */
function compare(actual: ArrayLike<number>, expected: Compared): number {
  const reference = float64(expected.values);
  const sampled = expected.indices ? expected.indices.map((i) => actual[i]!) : Array.from(actual);
  return Math.max(relativeError(sampled, reference), Math.abs(norm(actual) - expected.norm) / expected.norm);
}

async function lossGradientsAndHvp(model: Model, dtype: 'float32' | 'float64') {
  const session = await createSession(serializeGraph(hvpGraph(model, dtype)), { threads: 1 });
  const floats = (values: ArrayLike<number>) => (dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values));
  const parameters = initializeParameters(model, 1, dtype);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor(dtype, floats(fixture.pixels.map((p) => p / 255)), fixture.shape),
    target: new ort.Tensor('int64', BigInt64Array.from(fixture.labels.map(BigInt)), [fixture.labels.length]),
  };
  model.parameters.forEach((p, k) => {
    const size = p.shape.reduce((a, b) => a * b, 1);
    feeds[p.name] = new ort.Tensor(dtype, parameters.get(p.name)!, p.shape);
    feeds[`v.${p.name}`] = new ort.Tensor(dtype, floats(direction(k, size)), p.shape);
  });
  const result = await session.run(feeds);
  await session.release();
  return result;
}

/** The worst relative errors of loss, gradients and HVPs against PyTorch's float64 values. */
async function errorsAgainstPyTorch(model: Model, reference: Reference, dtype: 'float32' | 'float64') {
  const result = await lossGradientsAndHvp(model, dtype);
  const loss = Math.abs((result.loss!.data as Float32Array)[0]! - reference.loss) / reference.loss;
  let gradients = 0;
  let hvp = 0;
  for (const name of reference.names) {
    gradients = Math.max(gradients, compare(result[`grad.${name}`]!.data as Float32Array, reference.gradients[name]!));
    hvp = Math.max(hvp, compare(result[`hvp.${name}`]!.data as Float32Array, reference.hvp[name]!));
  }
  return { loss, gradients, hvp };
}

describe(`imported PyTorch ${fixture.torch} models (torch.onnx.export, opset 17)`, () => {
  const mlp = modelOf(importFixture('mlp'), 'import-mlp');
  const cnn = modelOf(importFixture('cnn'), 'import-cnn');
  const view = modelOf(importFixture('view'), 'import-view');

  it("name their parameters as PyTorch's state_dict, in its order and layouts", () => {
    for (const [model, reference] of [[mlp, fixture.models.mlp], [cnn, fixture.models.cnn], [view, fixture.models.view]] as const) {
      assert.deepEqual(model.parameters.map((p) => p.name), reference.names);
      assert.deepEqual(model.parameters.map((p) => p.shape), reference.shapes);
    }
    assert.deepEqual(mlp.parameters.map((p) => p.name), ['1.weight', '1.bias', '3.weight', '3.bias']);
    assert.deepEqual(mlp.outputShape, [10]);
    assert.equal(cnn.parameterCount, 40 + 296 + 2890);
  });

  it('start from the file\'s weights whatever the seed, and identify the file in a run\'s spec', () => {
    const initializers = onnx.ModelProto.decode(readFileSync(fixtureUrl('import-cnn.onnx'))).graph!.initializer!;
    const first = initializeParameters(cnn, 1);
    assert.deepEqual(first, initializeParameters(cnn, 2));
    const raw = initializers.find((t) => t.name === '0.weight')!.rawData!;
    assert.deepEqual(first.get('0.weight'), new Float32Array(new Uint8Array(raw).buffer));
    const spec: RunSpec = {
      key: 'cnn',
      label: 'cnn',
      group: 'import',
      model: importedModelDeclaration(importFixture('cnn'), { name: 'import-cnn', description: '', task: 'classification', dataset: 'mnist' }),
      data: {},
      training: { epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1, evalEvery: 1 },
      seed: 1,
    };
    const identity = canonicalJson(specIdentity(spec));
    assert.match(identity, /"onnx_sha256":"[0-9a-f]{64}"/);
    assert.ok(identity.length < 5000, 'the spec names the weights by digest, not by value');
  });

  const tolerance32 = 1e-5;
  it(`MLP: loss, gradients and HVP equal PyTorch's in float32 (relative ${tolerance32}) and float64 (1e-9)`, async () => {
    const single = await errorsAgainstPyTorch(mlp, fixture.models.mlp, 'float32');
    const double = await errorsAgainstPyTorch(mlp, fixture.models.mlp, 'float64');
    console.log(`# mlp float32 ${JSON.stringify(single)} float64 ${JSON.stringify(double)}`);
    for (const [what, error] of Object.entries(single)) assert.ok(error < tolerance32, `float32 ${what}: ${error}`);
    for (const [what, error] of Object.entries(double)) assert.ok(error < 1e-9, `float64 ${what}: ${error}`);
  });

  it(`CNN (Conv, MaxPool, Tanh, Pad + AveragePool): loss, gradients and HVP equal PyTorch's in float32 (relative ${tolerance32})`, async () => {
    const errors = await errorsAgainstPyTorch(cnn, fixture.models.cnn, 'float32');
    console.log(`# cnn float32 ${JSON.stringify(errors)}`);
    for (const [what, error] of Object.entries(errors)) assert.ok(error < tolerance32, `${what}: ${error}`);
  });

  it("x.view(x.size(0), -1) (Shape, Gather, Concat, Reshape) keeps the batch dynamic: PyTorch's outputs at batch 4 and 1", async () => {
    const errors = await errorsAgainstPyTorch(view, fixture.models.view, 'float64');
    console.log(`# view float64 ${JSON.stringify(errors)}`);
    for (const [what, error] of Object.entries(errors)) assert.ok(error < 1e-9, `${what}: ${error}`);
    const session = await createSession(serializeGraph(forwardGraph(view)), { threads: 1 });
    const parameters = initializeParameters(view, 1);
    const feeds = Object.fromEntries(view.parameters.map((p) => [p.name, new ort.Tensor('float32', parameters.get(p.name)!, p.shape)]));
    const logits = float64(fixture.models.view.logits);
    for (const batch of [4, 1]) {
      const x = new ort.Tensor('float32', Float32Array.from(fixture.pixels.slice(0, batch * 784), (p) => p / 255), [batch, 1, 28, 28]);
      const { y } = await session.run({ ...feeds, x });
      assert.deepEqual(y!.dims, [batch, 10]);
      assert.ok(relativeError(y!.data as Float32Array, logits.subarray(0, batch * 10)) < 1e-5);
    }
    await session.release();
  });

  it('compute the forward pass onnxruntime computes from the original file', async () => {
    for (const [file, model] of [['import-mlp.onnx', mlp], ['import-cnn.onnx', cnn], ['import-view.onnx', view]] as const) {
      const original = await createSession(readFileSync(fixtureUrl(file)), { threads: 1 });
      const ours = await createSession(serializeGraph(forwardGraph(model)), { threads: 1 });
      const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(0.37 * i)), [3, 1, 28, 28]);
      const parameters = initializeParameters(model, 1);
      const feeds = Object.fromEntries(model.parameters.map((p) => [p.name, new ort.Tensor('float32', parameters.get(p.name)!, p.shape)]));
      const expected = (await original.run({ x })).y!.data as Float32Array;
      const actual = (await ours.run({ ...feeds, x })).y!.data as Float32Array;
      assert.ok(relativeError(actual, expected) < 1e-5, file);
      await Promise.all([original.release(), ours.release()]);
    }
  });

  const outDir = mkdtempSync(join(tmpdir(), 'hw1-import-'));
  after(() => rmSync(outDir, { recursive: true, force: true }));
  it('build every program of the graph contract, and onnxruntime opens each', async () => {
    for (const model of [mlp, cnn]) {
      writeModelPrograms(model, outDir);
      const files = readdirSync(join(outDir, model.name)).filter((f) => f.endsWith('.onnx')).sort();
      const expected = ['eval', 'forward', 'gradient', 'gradnorm_step', 'gradnorm_steps', 'hvp', 'input_grad', 'jacobian', 'power_iteration', 'train_step'];
      if (model.parameterCount <= 5000) expected.push('hessian');
      assert.deepEqual(files, expected.sort().map((f) => `${f}.onnx`));
      for (const file of files) {
        const session = await createSession(readFileSync(join(outDir, model.name, file)), { threads: 1 });
        assert.ok(session.inputNames.includes('x'), `${model.name}/${file}`);
        await session.release();
      }
    }
  });

  it('pass the official ONNX checker with full shape inference', { skip: onnxCheckerVersion() ? false : CHECKER_SKIP_REASON }, () => {
    const files = readdirSync(outDir, { recursive: true }).map(String).filter((f) => f.endsWith('.onnx'));
    assert.ok(files.length >= 21);
    assert.deepEqual(checkOnnxFiles(files.map((f) => join(outDir, f))), []);
  });
});

/** The fixture MLP, its proto edited by `edit` and written back. */
function editedMlp(edit: (graph: onnxProto.onnx.IGraphProto) => void, file = 'import-mlp.onnx'): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(fixtureUrl(file)));
  edit(model.graph!);
  return onnx.ModelProto.encode(model).finish();
}

function assertImportError(make: () => unknown, pattern: RegExp) {
  assert.throws(make, (error: unknown) => {
    assert.ok(error instanceof ImportError && error instanceof UserError, String(error));
    assert.equal(error.message.split('\n').length, 1);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('import refuses, in one line naming the node and the fix', () => {
  it('an op without a gradient rule (LeakyRelu)', () => {
    assertImportError(
      () => modelOf(importFixture('leaky-relu'), 'leaky'),
      /^import import-leaky-relu\.onnx: node "\/1\/LeakyRelu" \(LeakyRelu\): hw1-onnx has no gradient rule for LeakyRelu; use nn\.ReLU, nn\.Tanh or nn\.Sigmoid/,
    );
    const erf = editedMlp((graph) => {
      graph.node![2]!.opType = 'Erf';
    });
    assertImportError(() => analyzeOnnx(erf, 'gelu.onnx'), /^import gelu\.onnx: node "\/2\/Relu" \(Erf\): hw1-onnx has no gradient rule for Erf/);
  });

  it('an unsupported attribute (auto_pad=SAME_UPPER)', () => {
    const bytes = editedMlp((graph) => {
      const conv = graph.node![0]!;
      conv.attribute = conv.attribute!.filter((a) => a.name !== 'pads');
      conv.attribute.push({ name: 'auto_pad', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('SAME_UPPER') });
    }, 'import-cnn.onnx');
    assertImportError(
      () => modelOf(analyzeOnnx(bytes, 'model.onnx'), 'same'),
      /^import model\.onnx: node "\/0\/Conv" \(Conv\): attribute auto_pad=SAME_UPPER is not supported; export with explicit padding \(padding=1 in nn\.Conv2d\)$/,
    );
  });

  it('a Reshape that would merge the batch with other dimensions', () => {
    const bytes = editedMlp((graph) => {
      graph.initializer!.push({ name: 'shape', dims: [2], dataType: 7, int64Data: [-1, 392] });
      graph.node![0] = { name: '/0/Reshape', opType: 'Reshape', input: ['x', 'shape'], output: ['/0/Flatten_output_0'] };
    });
    assertImportError(() => modelOf(analyzeOnnx(bytes, 'model.onnx'), 'merge'), /^import model\.onnx: node "\/0\/Reshape" \(Reshape\): its target shape \[-1, 392\].*cannot be resolved for every batch size; reshape with the batch first/);
  });

  it('dynamic input dimensions, until --input-shape gives them', () => {
    const bytes = editedMlp((graph) => {
      const dims = graph.input![0]!.type!.tensorType!.shape!.dim!;
      dims[2] = { dimParam: 'height' };
      dims[3] = { dimParam: 'width' };
    });
    assertImportError(() => analyzeOnnx(bytes, 'model.onnx'), /input "x" \[batch, 1, height, width\] has dynamic dimensions after the batch; give the per-example shape with --input-shape/);
    assert.deepEqual(modelOf(analyzeOnnx(bytes, 'model.onnx', { inputShape: [1, 28, 28] }), 'given').outputShape, [10]);
    assertImportError(() => analyzeOnnx(readFileSync(fixtureUrl('import-mlp.onnx')), 'model.onnx', { inputShape: [3, 28, 28] }), /--input-shape 3,28,28 differs from input "x"/);
  });

  it('a file that is not ONNX, and an opset newer than 17', () => {
    assertImportError(() => analyzeOnnx(new TextEncoder().encode('not a model at all'), 'notes.onnx'), /^import notes\.onnx: /);
    const newer = onnx.ModelProto.decode(readFileSync(fixtureUrl('import-mlp.onnx')));
    newer.opsetImport![0]!.version = 18;
    assertImportError(() => analyzeOnnx(onnx.ModelProto.encode(newer).finish(), 'new.onnx'), /opset 18 is newer than hw1-onnx reads \(9 to 17\); export with opset_version=17/);
  });
});
