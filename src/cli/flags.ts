/** Checks of flag values shared by the commands; each failure is one line naming the flag and quoting what was typed. */
import { isExecutionProvider, EXECUTION_PROVIDERS, type ExecutionProviderName } from '../runtime/providers.ts';
import { UserError } from '../util/errors.ts';

/** What was typed after --name on the command line (each occurrence), for messages: yargs has turned "abc" into NaN by then. */
export function typedValues(name: string, argv: readonly string[] = process.argv): string[] {
  const values: string[] = [];
  argv.forEach((token, i) => {
    if (token === `--${name}` && i + 1 < argv.length) values.push(argv[i + 1]!);
    else if (token.startsWith(`--${name}=`)) values.push(token.slice(name.length + 3));
  });
  return values;
}

function typed(name: string, value: unknown): string {
  const raw = typedValues(name);
  return raw.length === 1 ? JSON.stringify(raw[0]) : String(value);
}

/** A flag given twice reaches the handler as an array: refuse it, quoting both. */
function single(name: string, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const raw = typedValues(name);
  const shown = (raw.length === value.length ? raw : value.map(String)).map((v) => JSON.stringify(v)).join(' and ');
  throw new UserError(`--${name} is given ${value.length} times (${shown}); give it once`);
}

export function wholeNumberFlag(name: string, value: unknown, minimum: number): number {
  const v = single(name, value);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < minimum) {
    throw new UserError(`--${name} must be a whole number of at least ${minimum}, got ${typed(name, v)}`);
  }
  return v;
}

export function numberFlag(name: string, value: unknown, check: (v: number) => boolean, rule: string): number {
  const v = single(name, value);
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new UserError(`--${name} must be ${rule}, got ${typed(name, v)}`);
  return v;
}

export function providerFlag(value: unknown): ExecutionProviderName {
  const ep = String(single('ep', value));
  if (!isExecutionProvider(ep)) throw new UserError(`unknown execution provider "${ep}" (choose one of: ${EXECUTION_PROVIDERS.join(', ')})`);
  return ep;
}
