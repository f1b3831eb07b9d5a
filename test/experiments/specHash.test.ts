import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, specHash } from '../../src/experiments/specHash.ts';
import type { RunSpec } from '../../src/experiments/types.ts';
import { conv2d, dense, dropout, flatten, maxPool2d, relu } from '../../src/nn/layers.ts';
import { sequential } from '../../src/nn/model.ts';
import type { LayerDeclaration } from '../../src/nn/layer.ts';

/** A small CNN run whose layers the cases vary; every variant keeps the same shapes and parameters. */
function run(options: { pool?: LayerDeclaration; drop?: LayerDeclaration; training?: Partial<RunSpec['training']>; label?: string } = {}): RunSpec {
  return {
    key: 'cnn',
    label: options.label ?? 'a CNN',
    group: 'mnist',
    model: sequential('spec-cnn', { description: 'test', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [
      conv2d(4, 5),
      relu(),
      options.pool ?? maxPool2d(2),
      flatten(),
      options.drop ?? dropout(0.5),
      dense(10),
    ]),
    data: { limitTrain: 100 },
    training: { epochs: 2, batchSize: 16, optimizer: 'sgd', optimizerOptions: { momentum: 0.9, nesterov: true }, lr: 0.01, evalEvery: 1, ...options.training },
    seed: 1,
  };
}

describe('specHash: a run is identified by what it computes', () => {
  const base = specHash(run());

  it('changes with settings that keep every shape: dropout p, pooling geometry', () => {
    assert.notEqual(specHash(run({ drop: dropout(0.1) })), base, 'dropout p 0.5 -> 0.1');
    // 24x24 -> 12x12 either way: same shapes, different numbers.
    assert.notEqual(specHash(run({ pool: maxPool2d(3, { stride: 2, padding: 1 }) })), base, 'maxPool2d(2) -> maxPool2d(3, stride 2, padding 1)');
    assert.notEqual(specHash(run({ drop: dropout(0.5, { seed: 7 }) })), base, "dropout's seed");
  });

  it('changes with the training settings, the optimizer options and the seed', () => {
    assert.notEqual(specHash(run({ training: { lr: 0.02 } })), base);
    assert.notEqual(specHash(run({ training: { optimizerOptions: { momentum: 0.8, nesterov: true } } })), base);
    assert.notEqual(specHash({ ...run(), seed: 2 }), base);
    assert.notEqual(specHash({ ...run(), data: { limitTrain: 101 } }), base);
  });

  it('does not change with key order, a default written out, or a label', () => {
    assert.equal(specHash(run({ training: { optimizerOptions: { nesterov: true, momentum: 0.9 } } })), base, 'options in another order');
    assert.equal(specHash(run({ training: { optimizerOptions: { momentum: 0.9, nesterov: true, dampening: 0, weight_decay: 0 } } })), base, 'SGD defaults written out');
    const reordered = run();
    reordered.training = { evalEvery: 1, lr: 0.01, optimizer: 'sgd', batchSize: 16, epochs: 2, optimizerOptions: { momentum: 0.9, nesterov: true } };
    assert.equal(specHash(reordered), base, 'training keys in another order');
    assert.equal(specHash(run({ label: 'another label' })), base);
  });

  it('canonicalJson sorts keys at every depth and drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: undefined } }), '{"a":{"d":[3,{"e":2,"f":1}]},"b":1}');
  });
});
