import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { analysisData, hessianReport, DEFAULT_HESSIAN_OPTIONS } from '../../src/analysis/analyze.ts';
import { analyzeOnnx, importedModelDeclaration } from '../../src/nn/imported.ts';
import { initializeParameters } from '../../src/nn/init.ts';
import { dense, flatten, relu } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';

const fixture = new URL('../fixtures/import-mlp.onnx', import.meta.url);

describe('analyze on an imported model', () => {
  it('gives the Hessian report of the same network declared in the DSL (784-32-10, float64)', async () => {
    const imported = resolveModel(importedModelDeclaration(analyzeOnnx(readFileSync(fixture), 'import-mlp.onnx'), { name: 'import-mlp', description: '', task: 'classification', dataset: 'mnist' }));
    const declared = resolveModel(sequential('dsl-mlp', { description: 'the same MLP in the DSL', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [flatten(), dense(32), relu(), dense(10)]));
    // The exported nn.Sequential(Flatten, Linear, ReLU, Linear) names its tensors 1.* and 3.*; the DSL fc1.* and fc2.*.
    const importedWeights = initializeParameters(imported, 1, 'float64');
    const renamed = new Map([
      ['fc1.weight', importedWeights.get('1.weight')!],
      ['fc1.bias', importedWeights.get('1.bias')!],
      ['fc2.weight', importedWeights.get('3.weight')!],
      ['fc2.bias', importedWeights.get('3.bias')!],
    ]);
    assert.deepEqual(declared.parameters.map((p) => p.shape), imported.parameters.map((p) => p.shape));
    const options = { ...DEFAULT_HESSIAN_OPTIONS, traceSamples: 20, densityRuns: 0, lanczosSteps: 60 };
    const report = async (model: typeof imported, weights: Map<string, Float64Array | Float32Array>) =>
      hessianReport({ model, weights, weightsPath: 'test', data: analysisData(model, { examples: 64 }), runtime: { threads: 1 }, seed: 3 }, options);
    const a = await report(imported, importedWeights as Map<string, Float64Array>);
    const b = await report(declared, renamed as Map<string, Float64Array>);
    assert.equal(a.dtype, 'float64');
    const close = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(y), 1e-12), `${what}: ${x} vs ${y}`);
    close(a.loss, b.loss, 'loss');
    close(a.lambda_max, b.lambda_max, 'lambda_max');
    a.top_eigenvalues.forEach((v, i) => close(v, b.top_eigenvalues[i]!, `top ${i + 1}`));
    close(a.trace, b.trace, 'trace');
  });
});

describe('training an imported model', () => {
  it('learns MNIST: the exported 784-32-10 goes from chance to above 85% test accuracy in 3 epochs on 3,000 images', async () => {
    const { executeRun } = await import('../../src/experiments/executeRun.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const outDir = mkdtempSync(join(tmpdir(), 'hw1-import-train-'));
    try {
      const model = importedModelDeclaration(analyzeOnnx(readFileSync(fixture), 'import-mlp.onnx'), { name: 'import-mlp', description: '', task: 'classification', dataset: 'mnist' });
      const result = await executeRun(
        { key: 'imported', label: 'imported', group: 'mnist', model, data: { limitTrain: 3000, limitTest: 1000 }, training: { epochs: 3, batchSize: 32, optimizer: 'adam', lr: 1e-3, evalEvery: 1 }, seed: 1, record: { snapshotEvery: 3 } },
        { experiment: 'import-train', profile: 'quick', outDir, ep: 'cpu', threads: 1 },
      );
      assert.ok(result.snapshots![0]!.testAccuracy! < 0.3, `before training: ${result.snapshots![0]!.testAccuracy}`);
      assert.ok(result.final.testAccuracy! > 0.85, `after 3 epochs: ${result.final.testAccuracy}`);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
