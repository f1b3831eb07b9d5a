import { INTERRUPTED_EXIT_CODE, InterruptedError, UserError } from '../util/errors.ts';

/** Exit code for bad input (flags, names, data files); crashes keep Node's 1. */
export const USAGE_EXIT_CODE = 2;

/** Prints one line for a user's mistake (exit 2) or an interruption (exit 130); anything else is a bug and keeps its stack. */
export function reportFailure(error: unknown): never {
  if (error instanceof InterruptedError) {
    process.stderr.write(`hw1-onnx: ${error.message}\n`);
    process.exit(INTERRUPTED_EXIT_CODE);
  }
  if (error instanceof UserError) {
    process.stderr.write(`hw1-onnx: ${error.message}\n`);
    process.exit(USAGE_EXIT_CODE);
  }
  process.stderr.write(`hw1-onnx: internal error: ${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
}
