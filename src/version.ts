import { createRequire } from 'node:module';

/** hw1-onnx's version, from package.json: one source for the CLI, result files, reports and ONNX producer fields. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
