import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from './errors.ts';

/** File-system failures a user can fix by choosing another folder: one line, not a stack trace. */
const USER_FIXABLE = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR', 'ENAMETOOLONG']);

function asUserError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && USER_FIXABLE.has(code)) return new UserError(`cannot write ${path} (${code}); choose a writable folder (--out)`);
  return error;
}

/**
 * Writes through a temporary file in the same folder, flushed to disk, and
 * renames it into place, so a crash never leaves a half-written result or
 * checkpoint behind.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const file = openSync(temporary, 'w');
    try {
      writeSync(file, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw asUserError(error, path);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Checks an output folder before long work starts: it must be named, and a
 * file must be writable in it. A bad --out fails at once, in one line.
 */
export function ensureWritableFolder(folder: string, flag = '--out'): void {
  if (folder.trim() === '') throw new UserError(`${flag} must name a folder`);
  const probe = join(folder, `.hw1-onnx-write-test-${process.pid}`);
  try {
    mkdirSync(folder, { recursive: true });
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code ?? 'error';
    throw new UserError(`cannot write into ${flag} ${folder} (${code}); choose a writable folder`);
  }
}
