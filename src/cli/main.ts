import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { buildCommand } from './commands/build.ts';
import { dataCommand, doctorCommand, setupCommand } from './commands/system.ts';
import { trainCommand } from './commands/train.ts';
import { reportCommand, runCommand } from './commands/experiments.ts';
import { reportFailure } from './errors.ts';

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('hw1-onnx')
    .usage('$0 <command> [options]\n\nA deep-learning homework as portable ONNX training graphs.')
    .command(buildCommand as never)
    .command(trainCommand as never)
    .command(runCommand as never)
    .command(reportCommand as never)
    .command(doctorCommand as never)
    .command(setupCommand as never)
    .command(dataCommand as never)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .recommendCommands()
    .fail((message, error) => {
      // yargs' own validation (unknown flag, bad choice, missing argument) is a usage error too.
      // yargs spreads a message over lines ("Invalid values:", then the argument): keep all of it, on one line.
      const oneLine = (message ?? '').split('\n').map((part) => part.trim()).filter(Boolean).join(' ');
      reportFailure(error ?? new UserError(`${oneLine} (see hw1-onnx --help)`));
    })
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .parseAsync();
}

main(hideBin(process.argv)).catch(reportFailure);
