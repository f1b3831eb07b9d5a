import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { modelDeclarations } from '../../models/index.ts';
import { resolveModel } from '../../src/nn/model.ts';
import { readModel } from '../../src/onnx/reader.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { sgd } from '../../src/optim/sgd.ts';
import { writeModelPrograms } from '../../src/programs/build.ts';
import type { Manifest } from '../../src/programs/manifest.ts';
import { trainStepGraph } from '../../src/programs/programs.ts';
import { CHECKER_SKIP_REASON, checkOnnxFiles, onnxCheckerVersion } from '../support/onnxChecker.ts';

const checker = onnxCheckerVersion();

describe('emitted graphs', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'hw1-graphs-'));
  const models = modelDeclarations.map(resolveModel);
  for (const model of models) writeModelPrograms(model, outDir);
  writeModelPrograms(resolveModel(modelDeclarations.find((d) => d.name === 'func-deep')!), join(outDir, 'float64'), { dtype: 'float64', optimizer: sgd({ momentum: 0.9 }) });
  const files = readdirSync(outDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => join(outDir, f));

  it('writes every program for every model (jacobian for classifiers, hessian for up to 5,000 parameters)', () => {
    for (const model of models) {
      const expected = [
        'eval.onnx',
        'forward.onnx',
        'gradient.onnx',
        'gradnorm_step.onnx',
        'gradnorm_steps.onnx',
        'hvp.onnx',
        'power_iteration.onnx',
        'input_grad.onnx',
        'manifest.json',
        'train_step.onnx',
      ];
      if (model.task === 'classification') expected.push('jacobian.onnx');
      if (model.parameterCount <= 5000) expected.push('hessian.onnx');
      assert.deepEqual(readdirSync(join(outDir, model.name)).sort(), expected.sort());
    }
  });

  it('pass the official ONNX checker with full shape inference', { skip: checker ? false : CHECKER_SKIP_REASON }, () => {
    assert.ok(files.length >= 9 * models.length + 9);
    assert.deepEqual(checkOnnxFiles(files), []);
  });

  it('record in the manifest which gradient formulation each convolution layer got', () => {
    for (const model of models) {
      const manifest = JSON.parse(readFileSync(join(outDir, model.name, 'manifest.json'), 'utf8')) as Manifest;
      const convLayers = model.layers.filter((layer) => layer.type === 'Conv2d').map((layer) => `forward/${layer.name}/Conv`);
      if (convLayers.length === 0) {
        assert.equal(manifest.convolutions, undefined, model.name);
        continue;
      }
      assert.equal(manifest.convolutions!.tuned, false);
      for (const layer of convLayers) {
        const entry = manifest.convolutions!.formulations.find((f) => f.layers.includes(layer));
        assert.ok(entry, `${model.name}: ${layer} is recorded`);
        // The fixed choice: im2col from 8 input channels.
        const inChannels = Number(/C(\d+)->/.exec(entry.shape)![1]);
        assert.equal(entry.weightGradient, inChannels >= 8 ? 'im2col-gemm' : 'swapped-conv', `${model.name}: ${layer}`);
      }
    }
  });

  it('have the manifest\'s inputs and outputs, types and shapes, opset 17', () => {
    for (const model of models) {
      const manifest = JSON.parse(readFileSync(join(outDir, model.name, 'manifest.json'), 'utf8')) as Manifest;
      assert.equal(manifest.parameterCount, model.parameterCount);
      assert.equal(manifest.opset, 17);
      assert.deepEqual(manifest.optimizer.initialState, { exp_avg: 0, exp_avg_sq: 0 });
      for (const [key, entry] of Object.entries(manifest.graphs)) {
        const summary = readModel(readFileSync(join(outDir, model.name, entry.file)));
        assert.equal(summary.opset, 17, key);
        assert.deepEqual(summary.inputs.map((v) => v.name), entry.inputs, `${model.name}/${key} inputs`);
        assert.deepEqual(summary.outputs.map((v) => v.name), entry.outputs, `${model.name}/${key} outputs`);
        assert.ok(summary.docString.length > 0, 'graph has a doc string');
        const x = summary.inputs.find((v) => v.name === 'x')!;
        assert.deepEqual(x.shape, ['N', ...model.inputShape]);
        for (const parameter of model.parameters) {
          assert.deepEqual(summary.inputs.find((v) => v.name === parameter.name)?.shape, [...parameter.shape]);
        }
      }
      const gradient = manifest.graphs.gradient!;
      assert.deepEqual(gradient.outputs, ['loss', ...model.parameters.map((p) => `grad.${p.name}`)]);
      const train = manifest.graphs.train_step!;
      assert.ok(train.inputs.includes('lr') && train.inputs.includes('step'));
      for (const p of model.parameters) {
        assert.ok(train.inputs.includes(`state.${p.name}.exp_avg`) && train.outputs.includes(`next.state.${p.name}.exp_avg_sq`));
        assert.ok(train.outputs.includes(`next.${p.name}`));
      }
      const target = readModel(readFileSync(join(outDir, model.name, 'eval.onnx'))).inputs.find((v) => v.name === 'target')!;
      assert.deepEqual(target, model.task === 'classification' ? { name: 'target', dtype: 'int64', shape: ['N'] } : { name: 'target', dtype: 'float32', shape: ['N', 1] });
    }
  });

  it('name nodes by scope (forward/fc1/Gemm, backward/fc1/Gemm/dB)', () => {
    const summary = readModel(readFileSync(join(outDir, 'mnist-dnn', 'gradient.onnx')));
    assert.ok(summary.nodeNames.includes('forward/fc1/Gemm'));
    assert.ok(summary.nodeNames.includes('backward/fc1/Gemm/dB'));
    assert.ok(summary.opTypes.every((op) => !op.includes('.')), 'standard-domain ops only');
  });

  it('keep the backward pass of an MLP free of Transpose nodes', () => {
    const model = models.find((m) => m.name === 'mnist-dnn')!;
    const summary = readModel(serializeGraph(trainStepGraph(model, sgd())));
    assert.ok(!summary.opTypes.includes('Transpose'), summary.opTypes.join(','));
  });

  it('cleans up', () => rmSync(outDir, { recursive: true, force: true }));
});
