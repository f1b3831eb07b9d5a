import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.ts';

/** File-system failures a user can fix by choosing another folder: one line, not a stack trace. */
const USER_FIXABLE = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR', 'ENAMETOOLONG']);

function asUserError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code && USER_FIXABLE.has(code)) return new UserError(`cannot write ${path} (${code}); choose a writable folder (--out)`);
  return error;
}

/**
 * A temporary name beside `path` that no other writer uses: the process id
 * alone repeats across hosts sharing a folder (Slurm shards), PID-namespaced
 * containers and worker threads, so 64 random bits make it unique; the host
 * and pid stay in it to tell where a leftover came from.
 */
export function temporaryPath(path: string): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, '').slice(0, 32) || 'host';
  return join(dirname(path), `.${basename(path)}.tmp-${host}-${process.pid}-${randomBytes(8).toString('hex')}`);
}

/**
 * Writes through a temporary file in the same folder, flushed to disk, and
 * renames it into place, so a crash never leaves a half-written result or
 * checkpoint behind, and concurrent writers of one file (shards on several
 * hosts) each rename a whole file of their own: the last rename wins.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temporary = temporaryPath(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': fails rather than share a file, should a name ever repeat.
    const file = openSync(temporary, 'wx');
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
  const probe = temporaryPath(join(folder, '.hw1-onnx-write-test'));
  try {
    mkdirSync(folder, { recursive: true });
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code ?? 'error';
    throw new UserError(`cannot write into ${flag} ${folder} (${code}); choose a writable folder`);
  }
}
