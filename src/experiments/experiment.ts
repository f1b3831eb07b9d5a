import type { ExecutionProviderName } from '../runtime/providers.ts';
import type { ExperimentPlan, ExperimentResults, Profile } from './types.ts';

/** A chart an experiment drew, for the report. */
export interface ChartFile {
  /** Path relative to out/. */
  path: string;
  caption: string;
}

/**
 * One experiment of HW1-SPEC: it plans independent runs for a profile, draws
 * its charts from the results, and writes its report section. Runners in
 * runners/ implement this; runners/index.ts lists them.
 */
export interface Experiment {
  /** "1-1-function" */
  readonly id: string;
  /** "1-1" */
  readonly section: string;
  readonly title: string;
  plan(profile: Profile, seed: number): ExperimentPlan;
  /** Experiments whose results analyze() reads (same profile and seed); `run` runs them first. */
  readonly requires?: readonly string[];
  /**
   * Work across runs (a PCA of their snapshots, loss surfaces around their
   * weights), done once this experiment's runs and the required experiments'
   * runs are all complete. Its result is cached beside the results and
   * reaches charts() and report() as results.analysis.
   */
  analyze?(results: ExperimentResults, context: AnalysisContext): Promise<unknown>;
  /** Writes PNGs under outDir/<id>/ and returns them. */
  charts(results: ExperimentResults, outDir: string): Promise<ChartFile[]>;
  /** The report section in Markdown; chart paths are relative to out/. */
  report(results: ExperimentResults, charts: ChartFile[]): string;
}

export interface AnalysisContext {
  outDir: string;
  ep: ExecutionProviderName;
  threads?: number;
  /** The complete results of each required experiment, by id. */
  required: Readonly<Record<string, ExperimentResults>>;
  log(line: string): void;
}
