/**
 * Numbers about a per-iteration curve pair (loss and gradient norm) that say
 * what its chart shows: where the gradient norm peaks, and how it behaves
 * while the loss stays flat and while it drops.
 */

export interface CurveWindow {
  /** First and last iteration (1-based) of the window. */
  from: number;
  to: number;
  meanLoss: number;
  meanGradNorm: number;
  /** (loss at the window's start - at its end) / loss at its start, from the means of its first and last fifths. */
  relativeDrop: number;
}

export interface GradNormSummary {
  steps: number;
  peak: { step: number; gradNorm: number; loss: number };
  /** The highest gradient norm after the first tenth of the run (past the initial transient). */
  laterPeak: { step: number; gradNorm: number; loss: number };
  first: { gradNorm: number; loss: number };
  last: { gradNorm: number; loss: number };
  windows: CurveWindow[];
  /** Spearman's rank correlation over the windows between the mean gradient norm and the relative loss drop in the same window. */
  dropCorrelation: number;
  /** The same with the drop of the next window: does a large gradient come before progress? */
  leadCorrelation: number;
  /** Mean gradient norm over the quarter of the windows where the loss fell least (plateaus), and over the tenth where it fell most. */
  flatGradNorm: number;
  steepGradNorm: number;
  /** The loss drop of the flattest quarter of the windows, at most. */
  flatDrop: number;
}

/** `windows` equal slices of the run (at least 2 steps each). */
export function summarizeGradNorm(loss: readonly number[], gradNorm: readonly number[], windows = 40): GradNormSummary {
  const steps = loss.length;
  if (steps < 2 || gradNorm.length !== steps) throw new Error(`summarizeGradNorm: ${steps} losses and ${gradNorm.length} gradient norms`);
  const peakFrom = (start: number) => {
    let peak = start;
    for (let i = start + 1; i < steps; i++) if (gradNorm[i]! > gradNorm[peak]!) peak = i;
    return { step: peak + 1, gradNorm: gradNorm[peak]!, loss: loss[peak]! };
  };
  const count = Math.max(2, Math.min(windows, Math.floor(steps / 2)));
  const slices: CurveWindow[] = [];
  for (let w = 0; w < count; w++) {
    const from = Math.floor((w * steps) / count);
    const to = Math.floor(((w + 1) * steps) / count);
    const fifth = Math.max(1, Math.floor((to - from) / 5));
    const start = mean(loss.slice(from, from + fifth));
    const end = mean(loss.slice(to - fifth, to));
    slices.push({ from: from + 1, to, meanLoss: mean(loss.slice(from, to)), meanGradNorm: mean(gradNorm.slice(from, to)), relativeDrop: (start - end) / start });
  }
  const byDrop = [...slices].sort((a, b) => a.relativeDrop - b.relativeDrop);
  const flat = byDrop.slice(0, Math.max(1, Math.round(slices.length / 4)));
  const steep = byDrop.slice(-Math.max(1, Math.round(slices.length / 10)));
  return {
    steps,
    peak: peakFrom(0),
    laterPeak: peakFrom(Math.min(steps - 1, Math.floor(steps / 10))),
    first: { gradNorm: gradNorm[0]!, loss: loss[0]! },
    last: { gradNorm: gradNorm[steps - 1]!, loss: loss[steps - 1]! },
    windows: slices,
    dropCorrelation: spearman(slices.map((s) => s.meanGradNorm), slices.map((s) => s.relativeDrop)),
    leadCorrelation: spearman(slices.slice(0, -1).map((s) => s.meanGradNorm), slices.slice(1).map((s) => s.relativeDrop)),
    flatGradNorm: mean(flat.map((s) => s.meanGradNorm)),
    steepGradNorm: mean(steep.map((s) => s.meanGradNorm)),
    flatDrop: flat.at(-1)!.relativeDrop,
  };
}

/** Spearman's rank correlation (ties get their mean rank); NaN for fewer than 2 pairs or a constant side. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) return Number.NaN;
  const ra = ranks(a);
  const rb = ranks(b);
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : Number.NaN;
}

/**
 * Kendall's rank correlation tau-b: (concordant - discordant) pairs over the
 * pairs not tied in each variable, so ties neither help nor hurt.
 */
export function kendall(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) return Number.NaN;
  let concordant = 0;
  let discordant = 0;
  let tiedA = 0;
  let tiedB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiedA++;
      else if (db === 0) tiedB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denominator = Math.sqrt((concordant + discordant + tiedA) * (concordant + discordant + tiedB));
  return denominator > 0 ? (concordant - discordant) / denominator : Number.NaN;
}

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((p, q) => p.v - q.v);
  const out = new Array<number>(values.length);
  for (let k = 0; k < order.length; ) {
    let end = k;
    while (end + 1 < order.length && order[end + 1]!.v === order[k]!.v) end++;
    for (let j = k; j <= end; j++) out[order[j]!.i] = (k + end) / 2 + 1;
    k = end + 1;
  }
  return out;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
