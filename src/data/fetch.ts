import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../util/atomicWrite.ts';
import { DataError } from '../util/errors.ts';
import { CIFAR10_BATCH_FILES, CIFAR10_FOLDER, validateCifar10Dir } from './cifar10.ts';

/** The official archive and its MD5, both from https://www.cs.toronto.edu/~kriz/cifar.html. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** No response, or no new bytes, for this long counts as offline; a slow but moving download is fine. */
const STALL_TIMEOUT_MS = 30_000;

export interface FetchResult {
  /** The folder the batch files were written to. */
  dir: string;
  /** False when a valid copy was already there and nothing was downloaded. */
  downloaded: boolean;
}

/**
 * Downloads the official CIFAR-10 binary archive, checks its MD5, unpacks it into
 * `targetDir`/cifar-10-batches-bin/ (each file written atomically) and validates
 * the result with the loader. A valid copy already in place is kept.
 */
export async function fetchCifar10(targetDir = 'data', url = CIFAR10_URL, expectedMd5 = CIFAR10_MD5): Promise<FetchResult> {
  const dir = resolve(targetDir, CIFAR10_FOLDER);
  if (CIFAR10_BATCH_FILES.every((file) => existsSync(join(dir, file)))) {
    try {
      validateCifar10Dir(dir);
      return { dir, downloaded: false };
    } catch {
      // A broken copy: download over it.
    }
  }
  const archive = await download(url, targetDir);
  checkMd5(archive, expectedMd5, url);
  unpackCifar10Archive(archive, targetDir);
  validateCifar10Dir(dir);
  return { dir, downloaded: true };
}

async function download(url: string, targetDir: string): Promise<Uint8Array> {
  const fix = `copy the official ${CIFAR10_FOLDER} folder to ${targetDir.replace(/\/+$/, '')}/ or pass --data-dir`;
  const offline = (reason: string) => new DataError(`cannot download CIFAR-10 (offline?): ${reason}; ${fix}`);
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), STALL_TIMEOUT_MS);
  const stalled = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), STALL_TIMEOUT_MS);
  };
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (!response.ok || !response.body) {
      throw new DataError(`cannot download CIFAR-10: ${url} answered HTTP ${response.status} ${response.statusText}; ${fix}`);
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body) {
      chunks.push(chunk as Uint8Array);
      stalled();
    }
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof DataError) throw error;
    if (controller.signal.aborted) throw offline(`no data from ${url} for ${STALL_TIMEOUT_MS / 1000} s`);
    throw offline(networkReason(error));
  } finally {
    clearTimeout(timer);
  }
}

/** Node's fetch says only "fetch failed"; the cause holds the useful part (ENOTFOUND host, ECONNREFUSED addr). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  const message = cause?.message ?? (error as Error).message ?? String(error);
  const line = message.split('\n')[0]!;
  return cause?.code && !line.includes(cause.code) ? `${cause.code} ${line}` : line;
}

/** Refuses an archive whose MD5 differs from the published one (a truncated or altered download). */
export function checkMd5(archive: Uint8Array, expectedMd5: string, source: string): void {
  const actual = createHash('md5').update(archive).digest('hex');
  if (actual !== expectedMd5.toLowerCase()) {
    throw new DataError(
      `refusing the CIFAR-10 archive from ${source}: its MD5 is ${actual}, expected ${expectedMd5} (a truncated or altered download); run hw1-onnx data fetch cifar10 again`,
    );
  }
}

/** Gunzips the official tar.gz and writes its cifar-10-batches-bin/ files into `targetDir`/cifar-10-batches-bin/. */
export function unpackCifar10Archive(archive: Uint8Array, targetDir: string): string[] {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw new DataError(`the CIFAR-10 archive is not valid gzip: ${(error as Error).message}`);
  }
  const dir = resolve(targetDir, CIFAR10_FOLDER);
  const written: string[] = [];
  for (const entry of readTar(tar)) {
    // Only the archive's own folder, and only plain names in it: no path from the archive reaches the disk.
    const parts = entry.name.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.length !== 2 || parts[0] !== CIFAR10_FOLDER || parts[1] === '..') continue;
    const path = join(dir, parts[1]!);
    writeFileAtomic(path, entry.data);
    written.push(path);
  }
  const missing = CIFAR10_BATCH_FILES.filter((file) => !written.includes(join(dir, file)));
  if (missing.length > 0) {
    throw new DataError(`the CIFAR-10 archive lacks ${CIFAR10_FOLDER}/${missing.join(', ')}; run hw1-onnx data fetch cifar10 again`);
  }
  return written;
}

export interface TarEntry {
  name: string;
  /** A view on the archive bytes. */
  data: Uint8Array;
}

const BLOCK = 512;

/**
 * The regular files of a tar archive (POSIX ustar, https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06):
 * 512-byte headers, each followed by its data padded to 512 bytes, ended by
 * zero blocks. Directories, links and other types are skipped; GNU long names
 * ('L') and pax 'path' records ('x') are honoured because tar writes them for long paths.
 */
export function readTar(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) return entries;
    checkHeaderChecksum(header, offset);
    const size = octal(header, 124, 12, offset);
    const type = String.fromCharCode(header[156]!);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) {
      throw new DataError(`truncated tar archive: the entry at byte ${offset} needs ${size} bytes, only ${tar.length - dataStart} remain`);
    }
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    const prefix = isUstar(header) ? text(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') entries.push({ name, data });
  }
  // No end-of-archive blocks: allowed by most readers, but a partial header is not.
  if (offset !== tar.length) throw new DataError(`truncated tar archive: ${tar.length - offset} stray bytes after the last entry`);
  return entries;
}

function checkHeaderChecksum(header: Uint8Array, offset: number): void {
  const stored = octal(header, 148, 8, offset);
  let sum = 0;
  // The checksum field itself counts as eight spaces.
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  if (sum !== stored) throw new DataError(`corrupt tar archive: bad header checksum at byte ${offset} (not a tar file?)`);
}

function octal(header: Uint8Array, start: number, length: number, offset: number): number {
  const field = text(header, start, length).trim();
  if (!/^[0-7]*$/.test(field)) throw new DataError(`corrupt tar archive: bad number "${field}" in the header at byte ${offset}`);
  return field === '' ? 0 : parseInt(field, 8);
}

/** A NUL-terminated string field. */
function text(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return Buffer.from(end >= 0 ? field.subarray(0, end) : field).toString('utf8');
}

function isUstar(header: Uint8Array): boolean {
  return text(header, 257, 6).startsWith('ustar');
}

/** The `path` of a pax extended header: records "<length> <key>=<value>\n". */
function paxPath(data: Uint8Array): string | undefined {
  for (const record of Buffer.from(data).toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) return match[1];
  }
  return undefined;
}
