import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { analyzeCommand } from './commands/analyze.ts';
import { buildCommand } from './commands/build.ts';
import { importCommand } from './commands/import.ts';
import { dataCommand, doctorCommand, setupCommand } from './commands/system.ts';
import { trainCommand } from './commands/train.ts';
import { reportCommand, runCommand } from './commands/experiments.ts';
import { slurmCommand } from './commands/slurm.ts';
import { reportFailure } from './errors.ts';

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('hw1-onnx')
    .usage('$0 <command> [options]\n\nA deep-learning homework as portable ONNX training graphs.')
    .command(buildCommand as never)
    .command(trainCommand as never)
    .command(importCommand as never)
    .command(analyzeCommand as never)
    .command(runCommand as never)
    .command(reportCommand as never)
    .command(slurmCommand as never)
    .command(doctorCommand as never)
    .command(setupCommand as never)
    .command(dataCommand as never)
    .demandCommand(1, 'name a command')
    .strict()
    .recommendCommands()
    .fail((message, error, parser) => {
      // yargs' own validation (unknown flag, bad choice, missing argument, a flag without its value) is a usage error too.
      if (error && error.name !== 'YError') reportFailure(error);
      // The third argument is yargs' usage object; its descriptions are keyed by the command's option names.
      const known = Object.keys((parser as unknown as { getDescriptions(): Record<string, string> }).getDescriptions());
      reportFailure(new UserError(usageMessage(message ?? error?.message ?? '', argv[0], known)));
    })
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .parseAsync();
}

/**
 * yargs' validation messages, on one line and in our words where they are
 * terse: yargs spreads some over lines ("Invalid values:", then the
 * argument), says nothing about near misses of flag names, and names a
 * missing positional argument only by count.
 */
function usageMessage(message: string, command: string | undefined, knownFlags: readonly string[]): string {
  const oneLine = message.split('\n').map((part) => part.trim()).filter(Boolean).join(' ');
  const help = command && !command.startsWith('-') ? `hw1-onnx ${command} --help` : 'hw1-onnx --help';
  const suggestion = /^Did you mean (.+)\?$/.exec(oneLine);
  if (suggestion) return `unknown command "${command}": did you mean ${suggestion[1]}? (see hw1-onnx --help)`;
  const noValue = /^Not enough arguments following: (.+)$/.exec(oneLine);
  if (noValue) return `--${noValue[1]} needs a value (see ${help})`;
  const unknown = /^Unknown arguments?: (.+)$/.exec(oneLine);
  if (unknown && command && !command.startsWith('-') && unknown[1]!.split(',').map((n) => n.trim()).includes(command)) {
    return `unknown command "${command}" (see hw1-onnx --help)`;
  }
  if (unknown) {
    // yargs names a dashed flag twice (--bogus-flag, --bogusFlag): keep the typed form.
    const names = [...new Set(unknown[1]!.split(',').map((name) => name.trim().replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)))];
    const hints = names.map((name) => {
      const close = nearest(name, knownFlags.filter((flag) => flag.length > 1 && !flag.includes('_') && flag !== '$0'));
      return close ? `--${name} (did you mean --${close}?)` : `--${name}`;
    });
    return `unknown option ${hints.join(', ')} (see ${help})`;
  }
  if (/^Not enough non-option arguments/.test(oneLine)) {
    const what: Record<string, string> = { train: 'the model to train: hw1-onnx train <model>', import: 'the .onnx file: hw1-onnx import FILE.onnx', build: 'what to build: hw1-onnx build models', data: 'an action: hw1-onnx data info|fetch', setup: 'what to set up: hw1-onnx setup cuda' };
    return `name ${what[command ?? ''] ?? 'the missing argument'} (see ${help})`;
  }
  return `${oneLine} (see ${help})`;
}

/** The known name closest to `name` by edit distance, if it is close (at most 2 edits, and less than half its length). */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.min(2, Math.floor(name.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

main(hideBin(process.argv)).catch(reportFailure);
