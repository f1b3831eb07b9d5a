/**
 * npm run bench: times the benchmark workloads (bench/workloads/), each in a
 * fresh child process (bench/child.ts) so its peak RSS is its own, and with
 * --compare pytorch the same workloads in PyTorch (bench/reference/workloads.py).
 *
 *   npm run bench -- [--only B1,B3] [--repeats 3] [--rounds 1] [--threads 2] [--json] [--compare pytorch]
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { combineRounds, pairedRatio, type BenchResult } from './result.ts';
import { comparisonTable, quality, resultsTable, seconds, workloadNotes } from './table.ts';
import { isWorkloadName, WORKLOAD_NAMES } from './workloads/index.ts';

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('child.ts', import.meta.url));
const REFERENCE = fileURLToPath(new URL('reference/workloads.py', import.meta.url));
const USAGE_EXIT_CODE = 2;

const USAGE = `usage: npm run bench -- [--only ${WORKLOAD_NAMES.join(',')}] [--repeats 3] [--rounds 1] [--threads 2] [--json] [--compare pytorch]

Each workload runs in its own process: setup (untimed), 1 warm-up, then --repeats timed runs;
prints the median and minimum seconds, the peak RSS and a quality figure.
  --only      comma-separated workloads (default: all)
  --repeats   timed repeats after the warm-up (default 3)
  --rounds    processes per workload (default 1); with --compare, PyTorch and hw1-onnx
              alternate, and the ratio is the median of the rounds' own ratios
  --threads   onnxruntime intra-op threads, and torch.set_num_threads with --compare (default 2)
  --json      one JSON line per workload (and implementation) instead of a table
  --compare   pytorch: also run bench/reference/workloads.py with ${PYTHON} and compare`;

class UsageError extends Error {}

interface BenchOptions {
  workloads: string[];
  repeats: number;
  rounds: number;
  threads: number;
  json: boolean;
  compare: boolean;
}

function parseOptions(argv: string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        repeats: { type: 'string', default: '3' },
        rounds: { type: 'string', default: '1' },
        threads: { type: 'string', default: '2' },
        json: { type: 'boolean', default: false },
        compare: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const workloads = values.only === undefined ? [...WORKLOAD_NAMES] : values.only.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = workloads.find((name) => !isWorkloadName(name));
  if (unknown !== undefined) throw new UsageError(`unknown workload "${unknown}" in --only (known: ${WORKLOAD_NAMES.join(', ')})`);
  if (workloads.length === 0) throw new UsageError(`--only names no workload (known: ${WORKLOAD_NAMES.join(', ')})`);
  const positiveInteger = (flag: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} must be a whole number of at least 1, got ${text}`);
    return value;
  };
  if (values.compare !== undefined && values.compare !== 'pytorch') {
    throw new UsageError(`--compare "${values.compare}" is not supported (the only reference is: pytorch)`);
  }
  return {
    workloads: [...new Set(workloads)],
    repeats: positiveInteger('repeats', values.repeats!),
    rounds: positiveInteger('rounds', values.rounds!),
    threads: positiveInteger('threads', values.threads!),
    json: values.json!,
    compare: values.compare === 'pytorch',
  };
}

function requirePyTorch(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? `${PYTHON} is missing` : `${PYTHON} cannot import torch`;
    throw new UsageError(`--compare pytorch needs PyTorch: ${why} (Debian: apt-get install python3-torch libopenblas0-openmp)`);
  }
}

/** Runs one measuring process and returns the JSON line it printed. */
function measureIn(command: string, args: string[], what: string): Promise<BenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as BenchResult);
      else reject(new Error(`${what} failed (exit code ${code}):\n${stderr.trim().split('\n').slice(-20).join('\n')}`));
    });
  });
}

function measureOurs(name: string, { repeats, threads }: BenchOptions): Promise<BenchResult> {
  return measureIn(process.execPath, ['--import', 'tsx', CHILD, name, '--repeats', String(repeats), '--threads', String(threads)], `${name} (hw1-onnx)`);
}

function measurePyTorch(name: string, { repeats, threads }: BenchOptions): Promise<BenchResult> {
  return measureIn(PYTHON, [REFERENCE, '--only', name, '--repeats', String(repeats), '--threads', String(threads)], `${name} (pytorch)`);
}

function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // Not Linux: os.cpus() has the model.
  }
  return `${cpus().length} cores (nproc), ${model}`;
}

function report(result: BenchResult, json: boolean): void {
  if (json) console.log(JSON.stringify(result));
  else process.stderr.write(`${result.name} ${result.implementation}: ${seconds(result.seconds)} s median (${quality(result.quality)})\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  if (options.compare) requirePyTorch();

  const ours: BenchResult[] = [];
  const pairs: { pytorch: BenchResult; ours: BenchResult; ratio: number }[] = [];
  for (const name of options.workloads) {
    // PyTorch, then hw1-onnx, round after round: both see the machine in the same state.
    const references: BenchResult[] = [];
    const own: BenchResult[] = [];
    for (let round = 0; round < options.rounds; round++) {
      if (options.compare) {
        references.push(await measurePyTorch(name, options));
        report(references.at(-1)!, options.json);
      }
      own.push(await measureOurs(name, options));
      report(own.at(-1)!, options.json);
    }
    ours.push(combineRounds(own));
    if (options.compare) pairs.push({ pytorch: combineRounds(references), ours: ours.at(-1)!, ratio: pairedRatio(references, own) });
  }
  if (options.json) return;

  const first = ours[0]!;
  const versions = { ...first.versions, ...(pairs[0]?.pytorch.versions ?? {}) };
  console.log(
    [
      '',
      `hw1-onnx benchmarks, ${new Date().toISOString().slice(0, 10)}: ${machine()}; ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `${options.threads} intra-op threads; each workload in its own process: setup untimed, 1 warm-up, then the median (and min) of ${options.repeats} timed runs; peak RSS of that process` +
        (options.rounds > 1
          ? `; ${options.rounds} rounds (processes)${options.compare ? ', PyTorch and hw1-onnx alternating, the ratio the median of the rounds\' own ratios' : ''}, the median over all their timed runs`
          : ''),
      '',
      options.compare ? comparisonTable(pairs) : resultsTable(ours),
      '',
      workloadNotes(options.compare ? pairs.flatMap(({ pytorch, ours: own }) => [pytorch, own]) : ours),
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`hw1-onnx bench: ${error.message}\n`);
    process.exit(USAGE_EXIT_CODE);
  }
  process.stderr.write(`hw1-onnx bench: ${(error as Error)?.message ?? error}\n`);
  process.exit(1);
});
