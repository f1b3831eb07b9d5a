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
  /** Writes PNGs under outDir/<id>/ and returns them. */
  charts(results: ExperimentResults, outDir: string): Promise<ChartFile[]>;
  /** The report section in Markdown; chart paths are relative to out/. */
  report(results: ExperimentResults, charts: ChartFile[]): string;
}
