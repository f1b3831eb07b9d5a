/**
 * What every benchmark workload provides. The child process (bench/child.ts)
 * calls setup() before each repeat (untimed: data already parsed, sessions
 * opened, starting weights fresh, so every repeat does the same work) and
 * times run() alone. Expensive things a repeat does not change (MNIST, a
 * Hessian-vector-product session) are cached by the workload module, once per
 * process.
 */
export interface BenchSettings {
  /** onnxruntime intra-op threads. */
  threads: number;
}

/** A number that proves the work was done (test accuracy, final loss, an eigenvalue). */
export interface Quality {
  name: string;
  value: number;
}

export interface Workload<State = unknown> {
  /** B1 ... B7. */
  readonly name: string;
  /** What the workload is, in one line. */
  readonly description: string;
  /** What the timed region contains, and what it leaves out. */
  readonly timed: string;
  /** Floating type of its graphs. */
  readonly dtype: 'float32' | 'float64';
  setup(settings: BenchSettings): Promise<State>;
  run(state: State): Promise<Quality>;
  /** Releases what setup() opened for one repeat. */
  teardown?(state: State): Promise<void>;
}

/** The seed of every initial weight and shuffle in the benchmarks (as the CLI's default --seed). */
export const BENCH_SEED = 1;
/** Floating type of the benchmark graphs, unless a workload says otherwise. */
export const BENCH_DTYPE = 'float32' as const;
