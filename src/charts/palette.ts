/**
 * Colors for chart series.
 *
 * The palette is Tableau 10: ten hues that stay distinguishable from each
 * other (also in most kinds of color blindness) on a white background.
 *
 * How a series gets its color, in order:
 *
 * 1. An explicit `order` (for example every model name in a report, in the
 *    order the report lists them): a key found there gets
 *    `PALETTE[order.indexOf(key) % PALETTE.length]`. Every chart of a report
 *    that passes the same order gives a key the same color, and up to ten keys
 *    never share one. Use this when a report draws several models together.
 * 2. Otherwise a deterministic hash (32-bit FNV-1a of the key's UTF-16 code
 *    units) picks the color. It depends on the key alone, so a model name gets
 *    the same color in every chart, in every process, with no shared state.
 *    Two different keys can share a color (ten colors only); pass an order or
 *    explicit `colorKey`s with `dashed` to tell such series apart.
 * 3. An empty key has nothing to hash; it takes the color of its `index` (the
 *    series' position in its chart).
 *
 * Hash collisions are common with ten colors (two random keys share one one
 * time in ten; "mlp" and "cnn" do). `assignColors`, which the charts use,
 * therefore resolves them within one chart: keys not in `order` are taken in
 * sorted order, and a key whose hashed color another key of the chart already
 * holds moves on to the next free color. A key keeps its hashed color in every
 * chart where it collides with no other key; pass an `order` to get the same
 * color for every key in every chart, with no exception.
 *
 * A registry filled in order of first use was rejected: the color a key gets
 * would depend on which chart happened to be drawn first.
 */

/** Tableau 10, in its usual order. */
export const PALETTE: readonly string[] = Object.freeze([
  '#4e79a7', // blue
  '#f28e2b', // orange
  '#e15759', // red
  '#76b7b2', // teal
  '#59a14f', // green
  '#edc948', // yellow
  '#b07aa1', // purple
  '#ff9da7', // pink
  '#9c755f', // brown
  '#bab0ac', // grey
]);

/** 32-bit FNV-1a over the string's UTF-16 code units. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function slotOf(position: number): number {
  const n = PALETTE.length;
  return ((Math.trunc(position) % n) + n) % n;
}

/** The palette slot colorFor would use, and whether it came from `order`. */
function preferredSlot(seriesKey: string, index: number, order?: readonly string[]): { slot: number; fixed: boolean } {
  if (order !== undefined) {
    const position = order.indexOf(seriesKey);
    if (position >= 0) return { slot: slotOf(position), fixed: true };
  }
  if (seriesKey === '') return { slot: slotOf(Number.isFinite(index) ? index : 0), fixed: false };
  return { slot: slotOf(hashKey(seriesKey)), fixed: false };
}

/**
 * The color of a series, as a `#rrggbb` string. See the comment at the top of
 * this file for how `seriesKey`, `index` and `order` are used.
 */
export function colorFor(seriesKey: string, index: number, order?: readonly string[]): string {
  return PALETTE[preferredSlot(seriesKey, index, order).slot]!;
}

/**
 * The colors of one chart's series keys (one entry per series, repeats
 * allowed): colorFor's color for each key, except that two different keys
 * never share a color while the palette has a free one (see the comment at the
 * top of this file). Returns a map from key to `#rrggbb`.
 */
export function assignColors(seriesKeys: readonly string[], order?: readonly string[]): Map<string, string> {
  const firstIndex = new Map<string, number>();
  seriesKeys.forEach((key, index) => {
    if (!firstIndex.has(key)) firstIndex.set(key, index);
  });
  const slots = new Map<string, number>();
  const used = new Set<number>();
  const floating: string[] = [];
  for (const [key, index] of firstIndex) {
    const { slot, fixed } = preferredSlot(key, index, order);
    if (fixed) {
      slots.set(key, slot);
      used.add(slot);
    } else {
      floating.push(key);
    }
  }
  floating.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of floating) {
    let slot = preferredSlot(key, firstIndex.get(key)!, order).slot;
    for (let step = 0; step < PALETTE.length && used.has(slot); step++) slot = slotOf(slot + 1);
    if (used.has(slot)) slot = preferredSlot(key, firstIndex.get(key)!, order).slot; // palette full
    slots.set(key, slot);
    used.add(slot);
  }
  return new Map([...slots].map(([key, slot]) => [key, PALETTE[slot]!]));
}

/** `#rrggbb` with an alpha, as `rgba(r, g, b, a)`. */
export function withAlpha(hex: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (match === null) throw new Error(`withAlpha: expected a #rrggbb color, got ${JSON.stringify(hex)}`);
  const [r, g, b] = match.slice(1, 4).map((part) => parseInt(part, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
