/** Overrides on top of defaults, where an explicit undefined keeps the default (as an omitted key does). */
export function withDefaults<T extends object>(defaults: T, overrides: Partial<T>): T {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...defaults, ...(Object.fromEntries(defined) as Partial<T>) };
}
