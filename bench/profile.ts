/**
 * npm run bench:profile: onnxruntime's own profiler over one model's train
 * step, so the next largest cost is found by measurement. Runs the single
 * step graph (train_step.onnx, one step per call) on random inputs, drops the
 * warm-up calls, and prints each node's mean milliseconds per step, largest
 * first, with its share of the step and totals per op type.
 *
 *   npm run bench:profile -- [--model mnist-cnn] [--batch 64] [--steps 200] [--threads 2] [--top 25] [--no-tune]
 *
 * Convolutions take the formulations tuned for this machine, as runs do, unless --no-tune (or HW1_TUNE=off).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { initializeParameters } from '../src/nn/init.ts';
import { findModel } from '../src/nn/registry.ts';
import { serializeGraph } from '../src/onnx/writer.ts';
import { adam } from '../src/optim/adam.ts';
import { stateInputName, trainStepGraph } from '../src/programs/programs.ts';
import { fixedFormulation, withConvFormulations } from '../src/autodiff/convFormulations.ts';
import { tuneByDefault, tuneConvFormulations } from '../src/runtime/convTuner.ts';
import { Random } from '../src/util/random.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mnist-cnn' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '200' },
    threads: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    'no-tune': { type: 'boolean', default: false },
  },
});
const model = findModel(values.model!);
const batch = Number(values.batch);
const steps = Number(values.steps);
const warmup = Math.min(20, Math.floor(steps / 4));
const optimizer = adam();

const tune = !values['no-tune'] && tuneByDefault();
const tuned = tune ? await tuneConvFormulations(model, { batchSize: batch, threads: Number(values.threads) }) : undefined;
const { result: step, formulations } = withConvFormulations(tuned?.chooser ?? fixedFormulation, () => serializeGraph(trainStepGraph(model, optimizer, 'float32', { gradNorm: false })));
const dir = mkdtempSync(join(tmpdir(), 'hw1-profile-'));
const session = await ort.InferenceSession.create(step, {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(values.threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableProfiling: true,
  profileFilePrefix: join(dir, 'profile'),
  extra: { session: { set_denormal_as_zero: '1' } },
});

const random = new Random(1);
const feeds: Record<string, ort.Tensor> = {};
const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
feeds.x = new ort.Tensor('float32', Float32Array.from({ length: batch * inputSize }, () => random.next()), [batch, ...model.inputShape]);
feeds.target = new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10)), [batch]);
for (const [name, value] of initializeParameters(model, 1, 'float32')) {
  const spec = model.parameters.find((p) => p.name === name)!;
  feeds[name] = new ort.Tensor('float32', Float32Array.from(value), spec.shape);
  for (const slot of optimizer.stateSlots) feeds[stateInputName(name, slot)] = new ort.Tensor('float32', new Float32Array(value.length), spec.shape);
}
feeds.lr = new ort.Tensor('float32', new Float32Array([1e-3]), []);

const wall: number[] = [];
for (let step = 1; step <= steps; step++) {
  feeds.step = new ort.Tensor('int64', new BigInt64Array([BigInt(step)]), []);
  const start = performance.now();
  await session.run(feeds);
  wall.push(performance.now() - start);
}
session.endProfiling();
await session.release();
// onnxruntime-node returns no path: the profile is the one JSON file in the folder.
const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!);

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
rmSync(dir, { recursive: true, force: true });

// Each run's node events lie between its model_run events; keep the timed runs only.
const perNode = new Map<string, { op: string; total: number; runs: number }>();
let run = 0;
for (const event of events) {
  if (event.cat === 'Session' && event.name === 'model_run') run++;
  if (event.cat !== 'Node' || !event.name.endsWith('_kernel_time') || run < warmup) continue;
  const name = event.name.replace(/_kernel_time$/, '');
  const entry = perNode.get(name) ?? { op: event.args?.op_name ?? '?', total: 0, runs: 0 };
  entry.total += event.dur / 1000;
  entry.runs++;
  perNode.set(name, entry);
}
const timedRuns = steps - warmup;
const nodes = [...perNode].map(([name, e]) => ({ name, op: e.op, ms: e.total / timedRuns })).sort((a, b) => b.ms - a.ms);
const kernelMs = nodes.reduce((sum, n) => sum + n.ms, 0);
const sortedWall = wall.slice(warmup).sort((a, b) => a - b);
const medianWall = sortedWall[Math.floor(sortedWall.length / 2)]!;

console.log(`${model.name}, batch ${batch}, ${values.threads} threads: ${timedRuns} timed steps after ${warmup} warm-up`);
for (const f of formulations.filter((f) => f.layers.some((name) => name.startsWith('forward/')))) {
  console.log(`${f.layers.filter((name) => name.startsWith('forward/')).join(', ')} (${f.shape}): dW by ${f.weightGradient}, dX by ${f.inputGradient}${tune ? ' (tuned)' : ' (fixed choice)'}`);
}
console.log(`median step ${medianWall.toFixed(2)} ms wall; kernels ${kernelMs.toFixed(2)} ms per step (the rest is the call: feeds, fetches, allocation)\n`);
console.log('| node | op | ms per step | share |\n| --- | --- | ---: | ---: |');
for (const n of nodes.slice(0, Number(values.top))) console.log(`| ${n.name} | ${n.op} | ${n.ms.toFixed(3)} | ${((100 * n.ms) / kernelMs).toFixed(1)}% |`);
const perOp = new Map<string, number>();
for (const n of nodes) perOp.set(n.op, (perOp.get(n.op) ?? 0) + n.ms);
console.log('\n| op type | ms per step | share |\n| --- | ---: | ---: |');
for (const [op, ms] of [...perOp].sort((a, b) => b[1] - a[1])) console.log(`| ${op} | ${ms.toFixed(3)} | ${((100 * ms) / kernelMs).toFixed(1)}% |`);
