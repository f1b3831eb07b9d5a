import type { Model } from '../nn/model.ts';
import { UserError } from '../util/errors.ts';
import { loadCifar10 } from './cifar10.ts';
import type { Dataset } from './dataset.ts';
import { sampleFunction } from './functions.ts';
import { loadMnist } from './mnist.ts';
import { withPermutedLabels } from './randomLabels.ts';

export interface DataOptions {
  dataDir?: string;
  limitTrain?: number;
  limitTest?: number;
  /** Replace the training labels by a permutation of them drawn with this seed (test labels stay real). */
  permuteTrainLabels?: number;
}

export interface TrainTestData {
  train: Dataset;
  test: Dataset;
  source: string;
}

/** The data set a model declares: MNIST, CIFAR-10 (normalized per channel), or samples of a 1-D function (train and a finer test grid); optionally with permuted training labels. */
export function dataForModel(model: Model, options: DataOptions = {}): TrainTestData {
  const data = loadFor(model, options);
  if (options.permuteTrainLabels === undefined) return data;
  if (model.task !== 'classification') throw new UserError(`model ${model.name} is a ${model.task} model: only class labels can be permuted (drop permuteTrainLabels)`);
  return { ...data, train: withPermutedLabels(data.train, options.permuteTrainLabels), source: `${data.source}; training labels permuted with seed ${options.permuteTrainLabels}` };
}

function loadFor(model: Model, options: DataOptions): TrainTestData {
  if (model.dataset === 'mnist') {
    const data = loadMnist({ dir: options.dataDir, limitTrain: options.limitTrain, limitTest: options.limitTest });
    return data;
  }
  if (model.dataset === 'cifar10') {
    return loadCifar10({ dir: options.dataDir, limitTrain: options.limitTrain, limitTest: options.limitTest });
  }
  if (model.dataset.startsWith('function:')) {
    const name = model.dataset.slice('function:'.length);
    const train = sampleFunction(name, options.limitTrain ?? 1000, `${name} (train)`);
    const test = sampleFunction(name, options.limitTest ?? 2000, `${name} (test)`);
    return { train, test, source: `function ${name}` };
  }
  throw new UserError(`model ${model.name} declares an unknown data set "${model.dataset}" (use "mnist", "cifar10" or "function:<name>")`);
}
