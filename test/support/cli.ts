/** Running the CLI as a user would (node bin/hw1-onnx.js) and checking its one-line refusals. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** hw1-onnx with these arguments, from the repository root, colours off, `env` added to the environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, ['bin/hw1-onnx.js', ...args], { encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, FORCE_COLOR: '0', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

/** The result of a refused call: exit code 2 and one line on stderr matching `pattern`. */
export function assertUsageError(result: CliResult, args: readonly string[], pattern: RegExp): void {
  assert.equal(result.code, 2, `exit code of hw1-onnx ${args.join(' ')} (stderr: ${result.stderr})`);
  assert.equal(result.stderr.split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, pattern);
}
