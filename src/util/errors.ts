/**
 * An error caused by the user's input (a flag, a file, a declaration), as
 * opposed to a bug. The CLI prints its one-line message and exits with code 2,
 * so the message must name the problem and the fix.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string) {
    super(message);
  }
}

/** A missing, truncated or corrupt data file. */
export class DataError extends UserError {
  override name = 'DataError';
}

/**
 * A data set that is not on this machine at all (CIFAR-10 not fetched): a
 * suite skips its runs with a note. A corrupt or truncated file is a plain
 * DataError, never skipped.
 */
export class MissingDataError extends DataError {
  override name = 'MissingDataError';
}

/** A network declaration whose shapes or layers do not fit; names the layer. */
export class ModelDeclarationError extends UserError {
  override name = 'ModelDeclarationError';
}

/**
 * Ctrl-C (SIGINT) or SIGTERM stopped the work; what had finished was kept.
 * The CLI prints its one line and exits with 130, as a shell does for SIGINT.
 */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** The exit code of a command stopped by SIGINT or SIGTERM (128 + SIGINT's number, as shells report it). */
export const INTERRUPTED_EXIT_CODE = 130;

/** Training produced NaN or Inf; the last good weights were kept. */
export class DivergenceError extends UserError {
  override name = 'DivergenceError';
}
