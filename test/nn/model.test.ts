import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { initializeParameters } from '../../src/nn/init.ts';
import { conv2d, dense, dropout, flatten, maxPool2d, relu } from '../../src/nn/layers.ts';
import type { LayerDeclaration } from '../../src/nn/layer.ts';
import { resolveModel, sequential, type Task } from '../../src/nn/model.ts';
import { findModel, modelNames } from '../../src/nn/registry.ts';
import { modelSummary } from '../../src/nn/summary.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { forwardGraph } from '../../src/programs/programs.ts';
import { createSession } from '../../src/runtime/session.ts';
import { ModelDeclarationError, UserError } from '../../src/util/errors.ts';

describe('the models of the homework', () => {
  it('mnist-dnn: 784-256-256-10, 269,322 parameters in state_dict order and layout', () => {
    const model = findModel('mnist-dnn');
    assert.equal(model.parameterCount, 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    assert.equal(model.parameterCount, 269_322);
    assert.deepEqual(
      model.parameters.map((p) => [p.name, [...p.shape]]),
      [
        ['fc1.weight', [256, 784]],
        ['fc1.bias', [256]],
        ['fc2.weight', [256, 256]],
        ['fc2.bias', [256]],
        ['fc3.weight', [10, 256]],
        ['fc3.bias', [10]],
      ],
    );
    assert.deepEqual([...model.inputShape], [1, 28, 28]);
    assert.deepEqual([...model.outputShape], [10]);
  });

  it('func-shallow (571) and func-deep (572) have the same parameter count within 1%', () => {
    const shallow = findModel('func-shallow');
    const deep = findModel('func-deep');
    assert.equal(shallow.parameterCount, 571);
    assert.equal(deep.parameterCount, 572);
    assert.ok(Math.abs(shallow.parameterCount - deep.parameterCount) / deep.parameterCount < 0.01);
    // The count is the sum of the parameter shapes, not a separate tally.
    for (const model of [shallow, deep]) {
      assert.equal(model.parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0), model.parameterCount);
    }
  });
});

describe('initializeParameters', () => {
  const model = findModel('mnist-dnn');

  it('is deterministic per seed and differs across seeds', () => {
    const a = initializeParameters(model, 42);
    const b = initializeParameters(model, 42);
    const c = initializeParameters(model, 43);
    assert.deepEqual([...a.keys()], model.parameters.map((p) => p.name));
    for (const p of model.parameters) {
      const size = p.shape.reduce((x, y) => x * y, 1);
      assert.equal(a.get(p.name)!.length, size, `${p.name} size`);
      assert.deepEqual(a.get(p.name), b.get(p.name), `${p.name} same seed`);
      const differing = a.get(p.name)!.filter((v, i) => v !== c.get(p.name)![i]).length;
      assert.ok(differing > 0.99 * size, `${p.name}: only ${differing}/${size} values differ across seeds`);
    }
    assert.ok(a.get('fc1.weight') instanceof Float32Array);
    assert.ok(initializeParameters(model, 42, 'float64').get('fc1.weight') instanceof Float64Array);
  });

  it('draws fc1.weight uniformly in +-1/sqrt(784), filling the range', () => {
    const bound = 1 / Math.sqrt(784);
    const w = initializeParameters(model, 7, 'float64').get('fc1.weight')!;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of w) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    assert.ok(max <= bound && min >= -bound, `range [${min}, ${max}] within +-${bound}`);
    assert.ok(max > 0.9 * bound && min < -0.9 * bound, `range [${min}, ${max}] fills +-${bound}`);
    assert.ok(Math.abs(sum / w.length) < 0.01 * bound, `mean ${sum / w.length} near 0`);
    // fc3 has fan_in 256: its own, wider bound.
    const w3 = initializeParameters(model, 7, 'float64').get('fc3.weight')!;
    assert.ok(w3.every((v) => Math.abs(v) <= 1 / 16) && w3.some((v) => Math.abs(v) > bound));
  });
});

describe('modelSummary', () => {
  it('lists every layer, its output shape with batch -1, and the total', () => {
    const summary = modelSummary(findModel('mnist-dnn'));
    for (const layer of ['flatten1 (Flatten)', 'fc1 (Linear)', 'relu1 (ReLU)', 'fc2 (Linear)', 'relu2 (ReLU)', 'fc3 (Linear)']) {
      assert.ok(summary.includes(layer), `summary names ${layer}:\n${summary}`);
    }
    for (const shape of ['[-1, 784]', '[-1, 256]', '[-1, 10]']) assert.ok(summary.includes(shape), `summary has ${shape}:\n${summary}`);
    assert.ok(summary.includes('Total params: 269,322'), summary);
    assert.match(summary, /fc1 \(Linear\)\s+\[-1, 256\]\s+200,960/);
  });
});

describe('model declaration errors name the layer', () => {
  const declare = (task: Task, inputShape: number[], layers: LayerDeclaration[]) =>
    resolveModel(sequential('bad-model', { description: 'test', task, inputShape, dataset: 'mnist' }, layers));

  const expectDeclarationError = (build: () => unknown, ...patterns: (string | RegExp)[]) =>
    assert.throws(build, (error: unknown) => {
      assert.ok(error instanceof ModelDeclarationError, `a ModelDeclarationError, got ${error}`);
      assert.ok(error instanceof UserError, 'which is a UserError');
      for (const pattern of patterns) {
        if (typeof pattern === 'string') assert.ok(error.message.includes(pattern), `"${error.message}" names ${pattern}`);
        else assert.match(error.message, pattern);
      }
      return true;
    });

  it('a dense layer after an unflattened [1, 28, 28] input', () => {
    expectDeclarationError(() => declare('classification', [1, 28, 28], [dense(10)]), 'layer 1 "fc1" (Linear)', '[1, 28, 28]', /flatten/);
  });

  it('dense(0)', () => {
    expectDeclarationError(() => declare('classification', [1, 28, 28], [flatten(), dense(0), relu(), dense(10)]), 'layer 2 "fc1" (Linear)', /positive integer, got 0/);
  });

  it('duplicate explicit layer names', () => {
    expectDeclarationError(
      () => declare('classification', [1, 28, 28], [flatten(), dense(32, { name: 'hidden' }), relu(), dense(10, { name: 'hidden' })]),
      'layer 4 "hidden" (Linear)',
      /used twice/,
    );
  });

  it('a classifier ending in [1]', () => {
    expectDeclarationError(
      () => declare('classification', [1, 28, 28], [flatten(), dense(16), relu(), dense(1)]),
      'bad-model, last layer 4 "fc2" (Linear)',
      'ends in [1]',
      /at least 2 classes/,
    );
    assert.doesNotThrow(() => declare('regression', [1], [dense(4), relu(), dense(1)]));
  });

  it('convolution and pooling shapes that do not fit', () => {
    expectDeclarationError(() => declare('classification', [784], [conv2d(8, 3), flatten(), dense(10)]), 'layer 1 "conv1" (Conv2d)', /image input/);
    expectDeclarationError(
      () => declare('classification', [1, 28, 28], [conv2d(8, 5), maxPool2d(2), conv2d(8, 13), flatten(), dense(10)]),
      'layer 3 "conv2" (Conv2d)',
      /kernel of 13 .* does not fit a side of 12/,
    );
    expectDeclarationError(() => declare('classification', [1, 4, 4], [maxPool2d(5), flatten(), dense(10)]), 'layer 1 "pool1" (MaxPool2d)', /does not fit/);
    expectDeclarationError(() => declare('classification', [1, 8, 8], [dropout(1), flatten(), dense(10)]), 'layer 1 "dropout1" (Dropout)', /p must be in/);
  });

  it('a CNN has PyTorch\'s names, layouts and parameter count', () => {
    const model = findModel('mnist-cnn');
    assert.deepEqual(
      model.parameters.map((p) => [p.name, p.shape]),
      [['conv1.weight', [16, 1, 5, 5]], ['conv1.bias', [16]], ['conv2.weight', [32, 16, 5, 5]], ['conv2.bias', [32]], ['fc1.weight', [10, 512]], ['fc1.bias', [10]]],
    );
    assert.equal(model.parameterCount, 416 + 12832 + 5130);
    assert.deepEqual(model.parameters[0]!.init, { kind: 'uniform', bound: 1 / 5 }, 'uniform in +-1/sqrt(in * kH * kW)');
  });

  it('findModel of an unknown name is a UserError listing the known models', () => {
    assert.throws(
      () => findModel('nope'),
      (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.match(error.message, /nope/);
        for (const name of ['mnist-dnn', 'mnist-dnn-small', 'func-shallow', 'func-deep']) assert.ok(error.message.includes(name), `lists ${name}`);
        return true;
      },
    );
    assert.deepEqual(modelNames(), ['mnist-dnn', 'mnist-dnn-small', 'mnist-cnn', 'cifar-cnn', 'func-shallow', 'func-deep']);
  });
});

describe('the forward program', () => {
  it('func-shallow in float64 computes relu(x W1^T + b1) W2^T + b2', async () => {
    const model = findModel('func-shallow');
    const weights = initializeParameters(model, 5, 'float64');
    const session = await createSession(serializeGraph(forwardGraph(model, 'float64')), { threads: 1 });
    const xs = Float64Array.of(-1.5, -0.3, 0, 0.42, 2);
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float64', xs, [xs.length, 1]) };
    for (const p of model.parameters) feeds[p.name] = new ort.Tensor('float64', weights.get(p.name)!, [...p.shape]);
    const y = (await session.run(feeds)).y!;
    assert.deepEqual(y.dims, [xs.length, 1]);
    assert.equal(y.type, 'float64');

    const w1 = weights.get('fc1.weight')!; // [190, 1]
    const b1 = weights.get('fc1.bias')!; // [190]
    const w2 = weights.get('fc2.weight')!; // [1, 190]
    const b2 = weights.get('fc2.bias')!; // [1]
    const expected = Array.from(xs, (x) => {
      let out = b2[0]!;
      for (let j = 0; j < 190; j++) out += Math.max(0, x * w1[j]! + b1[j]!) * w2[j]!;
      return out;
    });
    const actual = y.data as Float64Array;
    let active = 0;
    for (const x of xs) for (let j = 0; j < 190; j++) if (x * w1[j]! + b1[j]! > 0) active++;
    assert.ok(active > 0 && active < xs.length * 190, 'some hidden units are off, some on');
    expected.forEach((value, i) => assert.ok(Math.abs(actual[i]! - value) < 1e-12, `y[${i}] = ${actual[i]} vs ${value}`));
    await session.release();
  });
});
