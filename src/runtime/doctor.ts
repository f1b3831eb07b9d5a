/** What `hw1-onnx doctor` checks: each execution provider really starting a session here. */
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { Graph } from '../ir/graph.ts';
import { relu } from '../ir/ops.ts';
import { serializeGraph } from '../onnx/writer.ts';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from './providers.ts';
import { createSession } from './session.ts';

export interface ProviderStatus {
  ep: ExecutionProviderName;
  available: boolean;
  detail: string;
}

function probeModel(): Uint8Array {
  const graph = new Graph('doctor-probe', 'one Relu, to see whether a provider starts');
  graph.addOutput('y', relu(graph.addInput('x', 'float32', [4])));
  return serializeGraph(graph);
}

export async function probeProvider(ep: ExecutionProviderName): Promise<ProviderStatus> {
  try {
    const session = await createSession(probeModel(), { ep, threads: 1 });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2, -3, 4), [4]) }).finally(() => session.release());
    const ok = Array.from(out.y!.data as Float32Array).join(',') === '0,2,0,4';
    return { ep, available: ok, detail: ok ? 'ran a test graph correctly' : 'ran a test graph but gave wrong numbers' };
  } catch (error) {
    return { ep, available: false, detail: (error as Error).message };
  }
}

export async function doctorReport(): Promise<{ lines: string[]; statuses: ProviderStatus[] }> {
  const statuses: ProviderStatus[] = [];
  for (const ep of EXECUTION_PROVIDERS) statuses.push(await probeProvider(ep));
  const lines = [
    `node ${process.version}, onnxruntime-node ${ort.env.versions.common}, ${cpus().length} CPU cores (${cpus()[0]?.model ?? 'unknown'})`,
    ...statuses.map((s) => `  ${s.available ? 'ok     ' : 'missing'} --ep ${s.ep.padEnd(6)} ${s.detail}`),
  ];
  return { lines, statuses };
}
