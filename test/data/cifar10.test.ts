import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  CIFAR10_BATCH_FILES,
  CIFAR10_CLASS_NAMES,
  CIFAR10_FILE_BYTES,
  CIFAR10_MEAN,
  CIFAR10_RECORD_BYTES,
  CIFAR10_RECORDS_PER_FILE,
  CIFAR10_STD,
  findCifar10Dir,
  loadCifar10,
  locateCifar10,
  validateCifar10Dir,
} from '../../src/data/cifar10.ts';
import { CIFAR10_MD5, checkMd5, fetchCifar10, readTar, unpackCifar10Archive } from '../../src/data/fetch.ts';
import { DataError } from '../../src/util/errors.ts';

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw1-cifar-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * A folder with the six batch files at their exact size, all zeros (label 0,
 * black pixels) but sparse, so it costs no disk; `sizes` overrides a file's size.
 */
function sparseCifar(sizes: Record<string, number> = {}): string {
  const dir = tempDir();
  for (const file of CIFAR10_BATCH_FILES) {
    const path = join(dir, file);
    writeFileSync(path, '');
    truncateSync(path, sizes[file] ?? CIFAR10_FILE_BYTES);
  }
  return dir;
}

function writeAt(path: string, position: number, bytes: number[]): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, position);
  closeSync(fd);
}

/** Asserts a one-line DataError whose message contains every `part` (strings literally, patterns by match). */
function assertDataError(run: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(run, (error: unknown) => {
    assertOneLineDataError(error, parts);
    return true;
  });
}

function assertOneLineDataError(error: unknown, parts: (string | RegExp)[]): void {
  assert.ok(error instanceof DataError, `expected DataError, got ${String(error)}`);
  assert.ok(!error.message.includes('\n'), `message must be one line: ${error.message}`);
  for (const part of parts) {
    if (typeof part === 'string') assert.ok(error.message.includes(part), `message lacks "${part}": ${error.message}`);
    else assert.match(error.message, part);
  }
}

/**
 * A complete CIFAR-10 folder in the official format whose every byte follows a
 * formula, so the loader's order, layout and scaling can be checked exactly:
 * record r of file f has label (3f + r) % 10 and pixel byte (r * 7 + p * 13 + f * 29) % 256.
 */
function syntheticCifar(): string {
  const dir = tempDir();
  CIFAR10_BATCH_FILES.forEach((file, f) => {
    const bytes = new Uint8Array(CIFAR10_FILE_BYTES);
    for (let r = 0; r < CIFAR10_RECORDS_PER_FILE; r++) {
      const at = r * CIFAR10_RECORD_BYTES;
      bytes[at] = syntheticLabel(f, r);
      for (let p = 0; p < CIFAR10_PIXELS; p++) bytes[at + 1 + p] = syntheticPixel(f, r, p);
    }
    writeFileSync(join(dir, file), bytes);
  });
  return dir;
}
const CIFAR10_PIXELS = CIFAR10_RECORD_BYTES - 1;
const syntheticLabel = (file: number, record: number) => (3 * file + record) % 10;
const syntheticPixel = (file: number, record: number, pixel: number) => (record * 7 + pixel * 13 + file * 29) % 256;

describe('loadCifar10 on a folder the test writes', () => {
  const dir = syntheticCifar();

  test('loads 50000 + 10000 records in file order, CHW pixels scaled and normalized per channel', () => {
    const data = loadCifar10({ dir });
    const { train, test: testSet } = data;
    assert.equal(data.source, dir);
    assert.equal(train.count, 50000);
    assert.equal(testSet.count, 10000);
    for (const set of [train, testSet]) {
      assert.deepEqual(set.inputShape, [3, 32, 32]);
      assert.equal(set.numClasses, 10);
      assert.equal(set.inputs.length, set.count * 3072);
      assert.equal(set.labels.length, set.count);
    }
    // Without batches.meta.txt the official class names are used.
    assert.deepEqual(data.classNames, CIFAR10_CLASS_NAMES);
    for (const [set, file, record, index] of [
      [train, 0, 0, 0],
      [train, 2, 1234, 21234],
      [train, 4, 9999, 49999],
      [testSet, 5, 0, 0],
      [testSet, 5, 9999, 9999],
    ] as const) {
      assert.equal(set.labels[index], syntheticLabel(file, record), `labels of file ${file} record ${record}`);
      for (const pixel of [0, 31, 1023, 1024 + 517, 2048, 3071]) {
        const channel = Math.floor(pixel / 1024);
        const expected = (syntheticPixel(file, record, pixel) / 255 - CIFAR10_MEAN[channel]!) / CIFAR10_STD[channel]!;
        assert.ok(Math.abs(set.inputs[index * 3072 + pixel]! - expected) < 1e-5, `file ${file} record ${record} pixel ${pixel}`);
      }
    }
    const raw = loadCifar10({ dir, normalize: false });
    assert.equal(raw.train.inputs[21234 * 3072 + 1541], Math.fround(syntheticPixel(2, 1234, 1541) / 255));
    assert.notEqual(raw.train.inputs.buffer, train.inputs.buffer);
  });

  test('limits take the first records, clamp, and share the cached arrays', () => {
    const full = loadCifar10({ dir });
    const small = loadCifar10({ dir, limitTrain: 100, limitTest: 1e9 });
    assert.equal(small.train.count, 100);
    assert.equal(small.train.inputs.length, 100 * 3072);
    assert.deepEqual([...small.train.labels.subarray(0, 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(small.test.count, 10000);
    assert.equal(small.train.inputs.buffer, full.train.inputs.buffer);
    assert.throws(() => loadCifar10({ dir, limitTrain: -1 }), /limitTrain must be a non-negative integer/);
  });

  test('class names come from batches.meta.txt when the folder has one', () => {
    const names = ['a0', 'b1', 'c2', 'd3', 'e4', 'f5', 'g6', 'h7', 'i8', 'j9'];
    const withMeta = tempDir();
    for (const file of CIFAR10_BATCH_FILES) symlinkSync(join(dir, file), join(withMeta, file));
    writeFileSync(join(withMeta, 'batches.meta.txt'), names.join('\n') + '\n\n');
    assert.deepEqual(validateCifar10Dir(withMeta), { trainCount: 50000, testCount: 10000, classNames: names });
  });
});

// The official set, where one is found (`hw1-onnx data fetch cifar10`, HW1_DATA_DIR, data/ or ../shared/data/).
const officialCifar = (() => {
  try {
    return findCifar10Dir();
  } catch {
    return undefined;
  }
})();
const OFFICIAL_SKIP_REASON =
  'no CIFAR-10 copy here: get it with `npx hw1-onnx data fetch cifar10` (or set HW1_DATA_DIR) to also check the real files';

describe('loadCifar10 on the official files', { skip: officialCifar ? false : OFFICIAL_SKIP_REASON }, () => {
  test('5000/1000 records per class, the official first record, per-channel statistics near 0 and 1', () => {
    const data = loadCifar10({ dir: officialCifar });
    const { train, test: testSet } = data;
    for (const set of [train, testSet]) {
      const perClass = new Array(10).fill(0);
      for (const label of set.labels) perClass[label]++;
      assert.deepEqual(perClass, new Array(10).fill(set.count / 10));
    }
    // The first record of the official data_batch_1.bin is a frog.
    assert.equal(train.labels[0], 6);
    assert.equal(data.classNames[6], 'frog');

    // The statistics were computed on the official pixels; a JPEG copy differs slightly, hence the tolerance.
    for (let channel = 0; channel < 3; channel++) {
      let sum = 0;
      let sumOfSquares = 0;
      for (let record = 0; record < train.count; record++) {
        const start = record * 3072 + channel * 1024;
        for (let i = start; i < start + 1024; i++) {
          const v = train.inputs[i]!;
          sum += v;
          sumOfSquares += v * v;
        }
      }
      const n = train.count * 1024;
      const mean = sum / n;
      const std = Math.sqrt(sumOfSquares / n - mean * mean);
      assert.ok(Math.abs(mean) < 0.05, `channel ${channel} mean ${mean}`);
      assert.ok(Math.abs(std - 1) < 0.05, `channel ${channel} std ${std}`);
    }
  });
});

describe('findCifar10Dir lookup order', () => {
  /** root/work is the working folder, so ../shared/data/ is root/shared/data/. */
  function layout() {
    const root = tempDir();
    const cwd = join(root, 'work');
    const explicit = join(root, 'explicit');
    const envParent = join(root, 'env');
    const local = join(cwd, 'data', 'cifar-10-batches-bin');
    const shared = join(root, 'shared', 'data', 'cifar-10-batches-bin');
    for (const dir of [explicit, join(envParent, 'cifar-10-batches-bin'), local, shared]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'data_batch_1.bin'), '');
    }
    return { root, cwd, explicit, envParent, local, shared };
  }

  test('an explicit folder wins, as the folder itself or its parent', () => {
    const { cwd, explicit, envParent, root } = layout();
    const env = { HW1_DATA_DIR: envParent };
    assert.deepEqual(locateCifar10(explicit, { env, cwd }), { dir: explicit, place: '--data-dir' });
    assert.equal(findCifar10Dir(envParent, { env: {}, cwd }), join(envParent, 'cifar-10-batches-bin'));
    // Relative to the working folder.
    assert.equal(findCifar10Dir('../explicit', { env, cwd }), explicit);
    // A wrong explicit folder is an error, never a silent fallback to the other places.
    assertDataError(() => findCifar10Dir(join(root, 'nowhere'), { env, cwd }), `--data-dir ${join(root, 'nowhere')}`, 'hw1-onnx data fetch cifar10');
  });

  test('then HW1_DATA_DIR (folder or parent), then data/, then ../shared/data/', () => {
    const { cwd, envParent, local, shared, root } = layout();
    const nested = join(envParent, 'cifar-10-batches-bin');
    assert.deepEqual(locateCifar10(undefined, { env: { HW1_DATA_DIR: envParent }, cwd }), { dir: nested, place: 'HW1_DATA_DIR' });
    assert.equal(findCifar10Dir(undefined, { env: { HW1_DATA_DIR: nested }, cwd }), nested);

    const emptyEnv = join(root, 'empty');
    mkdirSync(emptyEnv);
    assert.deepEqual(locateCifar10(undefined, { env: { HW1_DATA_DIR: emptyEnv }, cwd }), { dir: local, place: 'data/' });
    assert.deepEqual(locateCifar10(undefined, { env: {}, cwd }), { dir: local, place: 'data/' });
    rmSync(local, { recursive: true });
    assert.deepEqual(locateCifar10(undefined, { env: {}, cwd }), { dir: shared, place: '../shared/data/' });
    rmSync(shared, { recursive: true });
    assertDataError(
      () => findCifar10Dir(undefined, { env: { HW1_DATA_DIR: emptyEnv }, cwd }),
      'CIFAR-10 not found',
      `HW1_DATA_DIR=${emptyEnv}`,
      local,
      shared,
      'hw1-onnx data fetch cifar10',
      '--data-dir',
    );
  });

  test('the process environment is the default', () => {
    const { envParent } = layout();
    const saved = process.env.HW1_DATA_DIR;
    process.env.HW1_DATA_DIR = envParent;
    try {
      assert.equal(findCifar10Dir(), join(envParent, 'cifar-10-batches-bin'));
    } finally {
      if (saved === undefined) delete process.env.HW1_DATA_DIR;
      else process.env.HW1_DATA_DIR = saved;
    }
  });
});

describe('loadCifar10 on broken folders', () => {
  test('a truncated batch file, and one with trailing bytes, are named with both sizes', () => {
    const truncated = sparseCifar({ 'data_batch_3.bin': 5 * CIFAR10_RECORD_BYTES + 100 });
    assertDataError(
      () => loadCifar10({ dir: truncated }),
      join(truncated, 'data_batch_3.bin'),
      /expected 30730000 bytes \(10000 records of 3073\), found 15465 \(truncated\?\)/,
    );
    const long = sparseCifar({ 'test_batch.bin': CIFAR10_FILE_BYTES + 1 });
    assertDataError(() => loadCifar10({ dir: long }), join(long, 'test_batch.bin'), /found 30730001 \(trailing bytes/);
    assertDataError(() => validateCifar10Dir(long), join(long, 'test_batch.bin'));
  });

  test('a missing batch file is named', () => {
    const dir = sparseCifar();
    rmSync(join(dir, 'data_batch_5.bin'));
    assertDataError(() => loadCifar10({ dir }), `missing CIFAR-10 file ${join(dir, 'data_batch_5.bin')}`, 'hw1-onnx data fetch cifar10');
  });

  test('a label that is not a class 0-9 is named with its record', () => {
    const dir = sparseCifar();
    writeAt(join(dir, 'data_batch_1.bin'), 7 * CIFAR10_RECORD_BYTES, [10]);
    assertDataError(() => validateCifar10Dir(dir), join(dir, 'data_batch_1.bin'), /label 10 at record 7 is not a class 0-9/);
    assertDataError(() => loadCifar10({ dir }), join(dir, 'data_batch_1.bin'), /label 10 at record 7/);
  });

  test('a valid folder validates; class names come from batches.meta.txt, else the official list', () => {
    const dir = sparseCifar();
    assert.deepEqual(validateCifar10Dir(dir), {
      trainCount: 50000,
      testCount: 10000,
      classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    });
    writeFileSync(join(dir, 'batches.meta.txt'), 'c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n\n');
    assert.equal(validateCifar10Dir(dir).classNames[9], 'c9');
    writeFileSync(join(dir, 'batches.meta.txt'), 'only\nthree\nnames\n');
    assertDataError(() => validateCifar10Dir(dir), join(dir, 'batches.meta.txt'), /expected 10 class names/);
  });
});

/** One ustar entry: a 512-byte header (checksum over the header with the checksum field as spaces) and padded data. */
function tarEntry(name: string, data: Uint8Array, options: { type?: string; prefix?: string } = {}): Uint8Array {
  const header = new Uint8Array(512);
  const put = (value: string, at: number) => header.set(Buffer.from(value, 'utf8'), at);
  put(name, 0);
  put('0000644\0', 100);
  put('0000000\0', 108);
  put('0000000\0', 116);
  put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  put('00000000000\0', 136);
  put('        ', 148);
  put(options.type ?? '0', 156);
  put('ustar\0', 257);
  put('00', 263);
  if (options.prefix) put(options.prefix, 345);
  const sum = header.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const entry = new Uint8Array(512 + Math.ceil(data.length / 512) * 512);
  entry.set(header);
  entry.set(data, 512);
  return entry;
}

function tar(...entries: Uint8Array[]): Uint8Array {
  // A copy as a plain Uint8Array: Buffer's slice() would share memory.
  return new Uint8Array(Buffer.concat([...entries, new Uint8Array(1024)]));
}

const bytes = (text: string) => Uint8Array.from(Buffer.from(text));

describe('the tar reader', () => {
  test('returns regular files with their names (ustar prefix, GNU long name) and skips directories', () => {
    const longName = `cifar-10-batches-bin/${'x'.repeat(120)}.bin`;
    const archive = tar(
      tarEntry('cifar-10-batches-bin/', new Uint8Array(0), { type: '5' }),
      tarEntry('cifar-10-batches-bin/readme.html', bytes('<p>hello</p>')),
      tarEntry('data_batch_1.bin', new Uint8Array(1000).fill(7), { prefix: 'cifar-10-batches-bin' }),
      tarEntry('././@LongLink', bytes(`${longName}\0`), { type: 'L' }),
      tarEntry(longName.slice(0, 99), bytes('long')),
      tarEntry('empty', new Uint8Array(0)),
    );
    const entries = readTar(archive);
    assert.deepEqual(
      entries.map((e) => [e.name, e.data.length]),
      [
        ['cifar-10-batches-bin/readme.html', 12],
        ['cifar-10-batches-bin/data_batch_1.bin', 1000],
        [longName, 4],
        ['empty', 0],
      ],
    );
    assert.equal(Buffer.from(entries[0]!.data).toString(), '<p>hello</p>');
    assert.ok(entries[1]!.data.every((b) => b === 7));
  });

  test('refuses a bad header checksum and a truncated archive', () => {
    const archive = tar(tarEntry('a.bin', new Uint8Array(2000)));
    const corrupt = archive.slice();
    corrupt[0] = 'b'.charCodeAt(0);
    assertDataError(() => readTar(corrupt), /bad header checksum at byte 0/);
    assertDataError(() => readTar(archive.subarray(0, 1024)), /truncated tar archive: the entry at byte 0 needs 2000 bytes/);
  });

  test('unpacks only cifar-10-batches-bin/ files, atomically, into <target>/cifar-10-batches-bin/', () => {
    const target = tempDir();
    const files = CIFAR10_BATCH_FILES.map((file, i) => tarEntry(`cifar-10-batches-bin/${file}`, new Uint8Array(10).fill(i)));
    const archive = gzipSync(
      tar(
        ...files,
        tarEntry('cifar-10-batches-bin/batches.meta.txt', bytes('airplane\n')),
        tarEntry('cifar-10-batches-bin/../escape.bin', bytes('no')),
        tarEntry('elsewhere.bin', bytes('no')),
      ),
    );
    const written = unpackCifar10Archive(archive, target);
    assert.equal(written.length, 7);
    const dir = join(target, 'cifar-10-batches-bin');
    assert.deepEqual(readdirSync(target), ['cifar-10-batches-bin']);
    assert.deepEqual(readdirSync(dir).sort(), [...CIFAR10_BATCH_FILES, 'batches.meta.txt'].sort());
    assert.deepEqual(Array.from(readFileSync(join(dir, 'data_batch_3.bin'))), new Array(10).fill(2));

    assertDataError(() => unpackCifar10Archive(gzipSync(tar(...files.slice(1))), tempDir()), /lacks cifar-10-batches-bin\/data_batch_1\.bin/);
    assertDataError(() => unpackCifar10Archive(bytes('not gzip'), tempDir()), /not valid gzip/);
  });
});

/** Serves `body` at /archive.tar.gz (anything else: 404) on a free local port. */
async function serve(body: Uint8Array): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.url !== '/archive.tar.gz') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/archive.tar.gz`, server };
}

describe('fetchCifar10', () => {
  test('refuses an archive whose MD5 is not the published one (writing nothing), a failed download, and invalid files', async () => {
    assert.doesNotThrow(() => checkMd5(bytes('abc'), '900150983cd24fb0d6963f7d28e17f72', 'x'));
    assertDataError(() => checkMd5(bytes('abd'), '900150983cd24fb0d6963f7d28e17f72', 'x'), /MD5 is [0-9a-f]{32}, expected 900150983cd24fb0d6963f7d28e17f72/);

    const archive = gzipSync(tar(...CIFAR10_BATCH_FILES.map((file) => tarEntry(`cifar-10-batches-bin/${file}`, new Uint8Array(10)))));
    const { url, server } = await serve(archive);
    try {
      const target = tempDir();
      await assert.rejects(fetchCifar10(target, url), (error: unknown) => {
        assertOneLineDataError(error, [url, `expected ${CIFAR10_MD5}`]);
        return true;
      });
      assert.deepEqual(readdirSync(target), []);
      // The right MD5 for these bytes, but 10-byte batch files: the loader's validation refuses them.
      const md5 = createHash('md5').update(archive).digest('hex');
      await assert.rejects(fetchCifar10(target, url, md5), (error: unknown) => {
        assertOneLineDataError(error, [join(target, 'cifar-10-batches-bin', 'data_batch_1.bin'), /expected 30730000 bytes .* found 10 \(truncated\?\)/]);
        return true;
      });
      await assert.rejects(fetchCifar10(target, url.replace('archive', 'missing')), (error: unknown) => {
        assertOneLineDataError(error, [/answered HTTP 404/]);
        return true;
      });
    } finally {
      server.close();
    }
  });

  test('downloads, checks, unpacks and validates a full-size archive; a valid copy is then kept', async () => {
    // Six all-zero batches at the exact size: valid CIFAR-10 as far as the format goes, and gzip makes them small.
    const payload = tar(...CIFAR10_BATCH_FILES.map((file) => tarEntry(`cifar-10-batches-bin/${file}`, new Uint8Array(CIFAR10_FILE_BYTES))));
    const archive = gzipSync(payload, { level: 1 });
    const md5 = createHash('md5').update(archive).digest('hex');
    const { url, server } = await serve(archive);
    try {
      const target = tempDir();
      const result = await fetchCifar10(target, url, md5);
      assert.deepEqual(result, { dir: join(target, 'cifar-10-batches-bin'), downloaded: true });
      assert.equal(validateCifar10Dir(result.dir).trainCount, 50000);
      assert.ok(!readdirSync(result.dir).some((file) => file.includes('.tmp-')), 'no temporary files left');
      assert.deepEqual(await fetchCifar10(target, 'http://127.0.0.1:1/never-asked', md5), { ...result, downloaded: false });
    } finally {
      server.close();
    }
  });

  test('offline: one line naming the reason and the fix, quickly', async () => {
    // A port that was free a moment ago refuses the connection at once, like an unreachable host.
    const { url, server } = await serve(new Uint8Array(0));
    await new Promise((done) => server.close(done));
    const target = tempDir();
    const started = Date.now();
    await assert.rejects(fetchCifar10(join(target, 'data'), url), (error: unknown) => {
      assertOneLineDataError(error, [
        /^cannot download CIFAR-10 \(offline\?\): .*ECONNREFUSED/,
        `copy the official cifar-10-batches-bin folder to ${join(target, 'data')}/ or pass --data-dir`,
      ]);
      return true;
    });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.ok(!existsSync(join(target, 'data')), 'nothing written');
  });
});
