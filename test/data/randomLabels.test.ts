import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataForModel } from '../../src/data/forModel.ts';
import { withPermutedLabels } from '../../src/data/randomLabels.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { dense, flatten } from '../../src/nn/layers.ts';
import { resolveModel, sequential } from '../../src/nn/model.ts';
import { UserError } from '../../src/util/errors.ts';

const counts = (labels: Uint8Array) => Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);

describe('random labels', () => {
  const { train } = loadMnist({ limitTrain: 2000, limitTest: 10 });

  it('permutes the training labels: every class keeps its count, most images get another label', () => {
    const permuted = withPermutedLabels(train, 7);
    assert.deepEqual(counts(permuted.labels!), counts(train.labels!));
    assert.equal(permuted.inputs, train.inputs, 'the images are untouched');
    const changed = permuted.labels!.filter((label, i) => label !== train.labels![i]).length;
    // A random permutation keeps a label with probability about sum of squared class shares (~0.1).
    assert.ok(changed > 0.8 * train.count && changed < 0.95 * train.count, `${changed} of ${train.count} changed`);
  });

  it('is seeded: the same seed gives the same labels, another seed other ones', () => {
    assert.deepEqual(withPermutedLabels(train, 7).labels, withPermutedLabels(train, 7).labels);
    assert.notDeepEqual(withPermutedLabels(train, 7).labels, withPermutedLabels(train, 8).labels);
  });

  it('leaves the test labels alone, and refuses a regression model', () => {
    const model = resolveModel(sequential('tiny-mnist', { description: 'test', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' }, [flatten(), dense(10)]));
    const real = dataForModel(model, { limitTrain: 500, limitTest: 300 });
    const random = dataForModel(model, { limitTrain: 500, limitTest: 300, permuteTrainLabels: 3 });
    assert.deepEqual(random.test.labels, real.test.labels);
    assert.notDeepEqual(random.train.labels, real.train.labels);
    assert.match(random.source, /permuted with seed 3/);
    const regression = resolveModel(sequential('tiny-sinc', { description: 'test', task: 'regression', inputShape: [1], dataset: 'function:sinc' }, [dense(1)]));
    assert.throws(() => dataForModel(regression, { permuteTrainLabels: 3 }), UserError);
  });
});
