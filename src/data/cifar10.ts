import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, MissingDataError, UserError } from '../util/errors.ts';
import type { ClassificationData, ClassificationSet } from './mnist.ts';

/**
 * CIFAR-10 in its official binary format (https://www.cs.toronto.edu/~kriz/cifar.html):
 * each record is 1 label byte then 3,072 pixel bytes, 1,024 red, 1,024 green and
 * 1,024 blue, each plane a row-major 32x32 image. That is already the CHW layout
 * the graphs take, so a record's pixels are copied in order.
 */

/** Appended to every CIFAR-10 data error, so the one-line message also says how to recover. */
export const CIFAR10_FIX =
  'fetch it with: hw1-onnx data fetch cifar10, or pass --data-dir with the official cifar-10-batches-bin folder';

/** The folder name inside the official archive, and the one looked for under data folders. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_BATCH_FILES = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
export const CIFAR10_META_FILE = 'batches.meta.txt';

export const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const SIDE = 32;
const CHANNELS = 3;
const NUM_CLASSES = 10;
const PIXELS_PER_RECORD = CHANNELS * SIDE * SIDE;
export const CIFAR10_RECORD_BYTES = 1 + PIXELS_PER_RECORD;
export const CIFAR10_RECORDS_PER_FILE = 10_000;
export const CIFAR10_FILE_BYTES = CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES;

/**
 * Per-channel (R, G, B) mean and standard deviation of the pixels scaled to [0, 1],
 * computed on the official 50,000-image training set; the values used throughout
 * the CIFAR-10 literature and in the PyTorch/torchvision examples.
 */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;

export interface Cifar10Data extends ClassificationData {
  /** Class names by label, from batches.meta.txt when the folder has one. */
  classNames: string[];
}

export interface LoadCifar10Options {
  /** The cifar-10-batches-bin folder, or a folder holding it (--data-dir); see findCifar10Dir. */
  dir?: string;
  /** Keep only the first N training records (clamped to the set size). */
  limitTrain?: number;
  /** Keep only the first N test records (clamped to the set size). */
  limitTest?: number;
  /**
   * Standardize each channel with CIFAR10_MEAN/CIFAR10_STD after scaling to [0, 1]
   * (default true); false leaves the inputs in [0, 1].
   */
  normalize?: boolean;
}

/** Where findCifar10Dir looks; defaults to this process's environment and working folder. */
export interface Cifar10LookupContext {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Cifar10Location {
  dir: string;
  /** Which lookup place found it: "--data-dir", "HW1_DATA_DIR", "data/" or "../shared/data/". */
  place: string;
}

/**
 * Finds the CIFAR-10 folder, in this order:
 * 1. `explicit` (from --data-dir), which is final: a wrong folder is an error, never skipped;
 * 2. env HW1_DATA_DIR, the folder itself or a parent holding cifar-10-batches-bin/;
 * 3. data/cifar-10-batches-bin under the working folder (where `data fetch cifar10` puts it);
 * 4. ../shared/data/cifar-10-batches-bin relative to the working folder.
 */
export function locateCifar10(explicit?: string, context: Cifar10LookupContext = {}): Cifar10Location {
  const env = context.env ?? process.env;
  const cwd = context.cwd ?? process.cwd();
  if (explicit !== undefined) {
    const root = resolve(cwd, explicit);
    const dir = batchFolderIn(root);
    if (dir) return { dir, place: '--data-dir' };
    throw new MissingDataError(`CIFAR-10 not found in --data-dir ${root} (nor in ${join(root, CIFAR10_FOLDER)}); ${CIFAR10_FIX}`);
  }
  const tried: string[] = [];
  const fromEnv = env.HW1_DATA_DIR;
  if (fromEnv) {
    const root = resolve(cwd, fromEnv);
    const dir = batchFolderIn(root);
    if (dir) return { dir, place: 'HW1_DATA_DIR' };
    tried.push(`HW1_DATA_DIR=${root} (and ${join(root, CIFAR10_FOLDER)})`);
  } else {
    tried.push('HW1_DATA_DIR (not set)');
  }
  for (const [place, dir] of [
    ['data/', resolve(cwd, 'data', CIFAR10_FOLDER)],
    ['../shared/data/', resolve(cwd, '..', 'shared', 'data', CIFAR10_FOLDER)],
  ] as const) {
    if (hasBatchFiles(dir)) return { dir, place };
    tried.push(dir);
  }
  throw new MissingDataError(`CIFAR-10 not found; looked in ${tried.join(', ')}; ${CIFAR10_FIX}`);
}

/** The CIFAR-10 folder (see locateCifar10 for the lookup order); a DataError lists the places tried. */
export function findCifar10Dir(explicit?: string, context: Cifar10LookupContext = {}): string {
  return locateCifar10(explicit, context).dir;
}

/** `root` itself when it holds batch files, else its cifar-10-batches-bin/ when that does. */
function batchFolderIn(root: string): string | undefined {
  if (hasBatchFiles(root)) return root;
  const nested = join(root, CIFAR10_FOLDER);
  return hasBatchFiles(nested) ? nested : undefined;
}

// Any one batch file marks the folder; a missing sibling is then reported by name, not as "not found".
function hasBatchFiles(dir: string): boolean {
  return CIFAR10_BATCH_FILES.some((file) => existsSync(join(dir, file)));
}

// The training set alone is 50000 x 3072 floats (~600 MB), so every load in one process shares it.
const cache = new Map<string, Cifar10Data>();

/** Loads CIFAR-10 train and test sets, validated; limits return views on the cached arrays. */
export function loadCifar10(options: LoadCifar10Options = {}): Cifar10Data {
  const dir = findCifar10Dir(options.dir);
  const normalize = options.normalize ?? true;
  const key = `${normalize ? 'normalized' : 'raw'}:${dir}`;
  let full = cache.get(key);
  if (!full) {
    checkFileSizes(dir);
    full = {
      train: readSet(dir, 'train', CIFAR10_TRAIN_FILES, normalize),
      test: readSet(dir, 'test', [CIFAR10_TEST_FILE], normalize),
      source: dir,
      classNames: readClassNames(dir),
    };
    cache.set(key, full);
  }
  return {
    train: limitSet(full.train, options.limitTrain, 'limitTrain'),
    test: limitSet(full.test, options.limitTest, 'limitTest'),
    source: full.source,
    classNames: full.classNames,
  };
}

/**
 * Checks every file of `dir` (sizes, labels, class names) without building the
 * float inputs; for `data info` and after a download.
 */
export function validateCifar10Dir(dir: string): { trainCount: number; testCount: number; classNames: string[] } {
  checkFileSizes(dir);
  for (const file of CIFAR10_BATCH_FILES) checkLabels(join(dir, file), readBatch(dir, file));
  return {
    trainCount: CIFAR10_TRAIN_FILES.length * CIFAR10_RECORDS_PER_FILE,
    testCount: CIFAR10_RECORDS_PER_FILE,
    classNames: readClassNames(dir),
  };
}

// Sizes first, from the directory entries: a missing or truncated last file is reported before seconds of parsing.
function checkFileSizes(dir: string): void {
  for (const file of CIFAR10_BATCH_FILES) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new DataError(`missing CIFAR-10 file ${path}; ${CIFAR10_FIX}`);
    checkSize(path, statSync(path).size);
  }
}

function checkSize(path: string, size: number): void {
  if (size === CIFAR10_FILE_BYTES) return;
  const hint = size < CIFAR10_FILE_BYTES ? 'truncated?' : 'trailing bytes, or not a CIFAR-10 batch?';
  throw new DataError(
    `corrupt CIFAR-10 file ${path}: expected ${CIFAR10_FILE_BYTES} bytes (${CIFAR10_RECORDS_PER_FILE} records of ${CIFAR10_RECORD_BYTES}), found ${size} (${hint}); ${CIFAR10_FIX}`,
  );
}

function readBatch(dir: string, file: string): Uint8Array {
  const path = join(dir, file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DataError(`cannot read CIFAR-10 file ${path}: ${(error as Error).message.split('\n')[0]}; ${CIFAR10_FIX}`);
  }
  // Checked again: the file may have changed since checkFileSizes.
  checkSize(path, bytes.length);
  return bytes;
}

function checkLabels(path: string, bytes: Uint8Array): void {
  for (let record = 0; record < CIFAR10_RECORDS_PER_FILE; record++) {
    const label = bytes[record * CIFAR10_RECORD_BYTES]!;
    if (label >= NUM_CLASSES) {
      throw new DataError(`corrupt CIFAR-10 file ${path}: label ${label} at record ${record} is not a class 0-9; ${CIFAR10_FIX}`);
    }
  }
}

function readSet(dir: string, name: string, files: string[], normalize: boolean): ClassificationSet {
  const count = files.length * CIFAR10_RECORDS_PER_FILE;
  const inputs = new Float32Array(count * PIXELS_PER_RECORD);
  const labels = new Uint8Array(count);
  // x -> (x / 255 - mean) / std as one multiply-add per channel.
  const scale = [0, 1, 2].map((c) => (normalize ? 1 / (255 * CIFAR10_STD[c]!) : 1 / 255));
  const shift = [0, 1, 2].map((c) => (normalize ? -CIFAR10_MEAN[c]! / CIFAR10_STD[c]! : 0));
  const plane = SIDE * SIDE;
  files.forEach((file, fileIndex) => {
    const bytes = readBatch(dir, file);
    checkLabels(join(dir, file), bytes);
    for (let record = 0; record < CIFAR10_RECORDS_PER_FILE; record++) {
      const index = fileIndex * CIFAR10_RECORDS_PER_FILE + record;
      const from = record * CIFAR10_RECORD_BYTES;
      labels[index] = bytes[from]!;
      const to = index * PIXELS_PER_RECORD;
      for (let c = 0; c < CHANNELS; c++) {
        const a = scale[c]!;
        const b = shift[c]!;
        const source = from + 1 + c * plane;
        const target = to + c * plane;
        for (let i = 0; i < plane; i++) inputs[target + i] = bytes[source + i]! * a + b;
      }
    }
  });
  return { name, count, inputShape: [CHANNELS, SIDE, SIDE], numClasses: NUM_CLASSES, inputs, labels };
}

/** Class names from batches.meta.txt (one per line), or the official list when the file is absent. */
function readClassNames(dir: string): string[] {
  const path = join(dir, CIFAR10_META_FILE);
  if (!existsSync(path)) return [...CIFAR10_CLASS_NAMES];
  const names = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== NUM_CLASSES) {
    throw new DataError(`corrupt CIFAR-10 file ${path}: expected ${NUM_CLASSES} class names, one per line, found ${names.length}; ${CIFAR10_FIX}`);
  }
  return names;
}

// The same contract as mnist.ts's limits: the first N records, as views sharing the cached arrays.
function limitSet(set: ClassificationSet, limit: number | undefined, option: string): ClassificationSet {
  if (limit === undefined) return set;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UserError(`${option} must be a non-negative integer, got ${limit}`);
  }
  const count = Math.min(limit, set.count);
  return {
    ...set,
    count,
    inputs: set.inputs.subarray(0, count * PIXELS_PER_RECORD),
    labels: set.labels.subarray(0, count),
  };
}
