// Node 20's test runner takes no glob patterns: find test/**/*.test.ts here and
// hand the list to `node --test` (TypeScript through tsx's loader).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.test.ts'))
  .map((file) => join('test', file))
  .sort();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
  // Tests use the fixed convolution formulations (no measuring, no cache in ~/.cache): the same graphs on every machine.
  env: { ...process.env, HW1_TUNE: 'off' },
});
process.exit(result.status ?? 1);
