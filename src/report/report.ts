/**
 * `hw1-onnx report`: out/report.md and the self-contained out/report.html,
 * one section per experiment, built from the run files on disk (whichever
 * process or cluster shard wrote them), so the report always shows what was
 * actually computed.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Experiment } from '../experiments/experiment.ts';
import { renderExperiment } from '../experiments/render.ts';
import { collectResults, recordedRuns } from '../experiments/store.ts';
import { UserError } from '../util/errors.ts';
import type { Profile } from '../experiments/types.ts';
import { writeFileAtomic } from '../util/atomicWrite.ts';
import { VERSION } from '../version.ts';
import { reportHtml } from './html.ts';

export interface ReportOptions {
  outDir: string;
  /** Which profile's results to report; default: per experiment, the profile of its newest run file. */
  profile?: Profile;
  seed?: number;
  /** Progress of analyses computed while reporting. */
  log?: (line: string) => void;
}

export interface ReportSummary {
  markdownPath: string;
  htmlPath: string;
  sections: Array<{ experiment: string; runs: number; planned: number; profile?: Profile }>;
}

/** The experiments whose runs an experiment is reported from: its own, or, for one that only analyzes others' runs, those it requires. */
function runSources(experiment: Experiment, experiments: readonly Experiment[]): Experiment[] {
  return experiment.plan('quick', 1).runs.length > 0 ? [experiment] : experiments.filter((e) => experiment.requires?.includes(e.id));
}

/** Which profile and seed each experiment is reported at: the flags, or the newest run on disk of its run sources. */
function reportSelection(experiment: Experiment, experiments: readonly Experiment[], options: ReportOptions): { profile?: Profile; seed: number } {
  const newest = runSources(experiment, experiments)
    .flatMap((source) => recordedRuns(options.outDir, source.id))
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  return { profile: options.profile ?? newest?.profile, seed: options.seed ?? newest?.seed ?? 1 };
}

/**
 * Refuses, before anything is written, a selection with no finished run at
 * all: a report must never replace a good one (or any results.json) with
 * "nothing found". The message names what the folder does hold.
 */
function checkSomethingToReport(experiments: readonly Experiment[], options: ReportOptions): void {
  const found = experiments.some((experiment) => {
    const { profile, seed } = reportSelection(experiment, experiments, options);
    if (!profile) return false;
    return runSources(experiment, experiments).some((source) => collectResults(options.outDir, source, source.plan(profile, seed), profile, seed).runs.length > 0);
  });
  if (found) return;
  const held = new Map<string, Set<string>>();
  for (const experiment of experiments) {
    for (const run of recordedRuns(options.outDir, experiment.id)) {
      const key = `--profile ${run.profile} --seed ${run.seed}`;
      if (!held.has(key)) held.set(key, new Set());
      held.get(key)!.add(experiment.id);
    }
  }
  const what = [options.profile ? `profile ${options.profile}` : '', options.seed !== undefined ? `seed ${options.seed}` : ''].filter(Boolean).join(', ');
  const listing = [...held].map(([key, ids]) => `${key} (${[...ids].join(', ')})`).join('; ');
  throw new UserError(`no finished runs for ${what || 'the selection'} in ${options.outDir}; nothing was written. It holds: ${listing || 'no run results'}`);
}

export async function writeReport(experiments: readonly Experiment[], options: ReportOptions): Promise<ReportSummary> {
  checkSomethingToReport(experiments, options);
  const title = 'HW1 reproduced with hw1-onnx';
  const lines = [
    `# ${title}`,
    '',
    `Generated ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by hw1-onnx ${VERSION} (onnxruntime-node ${ort.env.versions.common}, Node ${process.version}, ${cpus().length} CPU cores: ${cpus()[0]?.model ?? 'unknown'}). Every number below was computed by the runs this report was made from.`,
    '',
  ];
  const sections: ReportSummary['sections'] = [];
  let currentSection = '';
  for (const experiment of experiments) {
    if (experiment.section !== currentSection) {
      currentSection = experiment.section;
      lines.push(`## ${experiment.section}`, '');
    }
    lines.push(`### ${experiment.title} (\`${experiment.id}\`)`, '');
    const { profile, seed } = reportSelection(experiment, experiments, options);
    if (!profile) {
      lines.push(`Not run yet: \`hw1-onnx run ${experiment.id}\`.`, '');
      sections.push({ experiment: experiment.id, runs: 0, planned: experiment.plan('quick', seed).runs.length });
      continue;
    }
    const { results, charts, waitingFor } = await renderExperiment(experiment, options.outDir, profile, seed, { experiments, log: options.log });
    sections.push({ experiment: experiment.id, runs: results.runs.length, planned: results.planned, profile });
    if (results.planned === 0) {
      if (results.analysis === undefined) {
        lines.push(`Waits for the runs of ${waitingFor.join(', ')} (profile ${profile}, seed ${seed}): \`hw1-onnx run ${experiment.id} --profile ${profile} --seed ${seed}\`.`, '');
      } else {
        lines.push(`Profile **${profile}**, seed ${seed}: computed from the runs of ${experiment.requires!.join(', ')}.`, '');
        lines.push(experiment.report(results, charts), '');
      }
      continue;
    }
    if (results.runs.length === 0) {
      lines.push(`No finished runs for profile ${profile}, seed ${seed}: \`hw1-onnx run ${experiment.id} --profile ${profile} --seed ${seed}\`.`, '');
      continue;
    }
    const finished = new Set(results.runs.map((run) => run.key));
    const missing = experiment.plan(profile, seed).runs.filter((spec) => !finished.has(spec.key)).map((spec) => `\`${spec.key}\``);
    lines.push(
      `Profile **${profile}**, seed ${seed}: ${results.runs.length} of ${results.planned} runs finished.${results.complete ? '' : ` Missing: ${missing.join(', ')} (still running, on other shards, or their data set is missing: \`hw1-onnx data info\`); the figures below show only the finished runs.`}`,
      '',
    );
    lines.push(experiment.report(results, charts), '');
  }
  const markdown = lines.join('\n');
  const markdownPath = join(options.outDir, 'report.md');
  const htmlPath = join(options.outDir, 'report.html');
  writeFileAtomic(markdownPath, markdown);
  writeFileAtomic(htmlPath, reportHtml(markdown, options.outDir, title));
  return { markdownPath, htmlPath, sections };
}
