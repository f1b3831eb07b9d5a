/** Checks of numeric flags shared by the commands; each failure is one line naming the flag. */
import { isExecutionProvider, EXECUTION_PROVIDERS, type ExecutionProviderName } from '../runtime/providers.ts';
import { UserError } from '../util/errors.ts';

export function wholeNumberFlag(name: string, value: unknown, minimum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new UserError(`--${name} must be a whole number of at least ${minimum}, got ${value}`);
  }
  return value;
}

export function numberFlag(name: string, value: unknown, check: (v: number) => boolean, rule: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw new UserError(`--${name} must be ${rule}, got ${value}`);
  return value;
}

export function providerFlag(value: unknown): ExecutionProviderName {
  const ep = String(value);
  if (!isExecutionProvider(ep)) throw new UserError(`unknown execution provider "${ep}" (choose one of: ${EXECUTION_PROVIDERS.join(', ')})`);
  return ep;
}
