import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { grad, vectorJacobianProducts } from '../../src/autodiff/engine.ts';
import { Graph, type Value } from '../../src/ir/graph.ts';
import { identity, mul, reduceSum, relu } from '../../src/ir/ops.ts';
import { conv, maxPool } from '../../src/ir/spatialOps.ts';
import { serializeGraph } from '../../src/onnx/writer.ts';
import { createSession } from '../../src/runtime/session.ts';
import { Random } from '../../src/util/random.ts';
import onnxProto from 'onnx-proto';

// The ReLU rule takes its mask on the pooled values when its output is max-pooled
// in windows that do not overlap (rules/Relu.ts). The reference is the plain rule,
// reached by putting an Identity between the ReLU and the pooling.
const N = 3;
const shapes = { x: [N, 1, 8, 8], w: [2, 1, 3, 3], b: [2], weights: [N, 2, 4, 4], v: [2, 1, 3, 3] };

function build(plain: boolean) {
  const graph = new Graph(plain ? 'plain' : 'pooled-mask');
  const [x, w, b, weights, v] = (['x', 'w', 'b', 'weights', 'v'] as const).map((name) => graph.addInput(name, 'float32', shapes[name]));
  const activated = relu(conv(x!, w!, b!, { pads: [1, 1, 1, 1] }));
  const pooled = maxPool(plain ? identity(activated) : activated, { kernel: [2, 2] }).y;
  // Squared, so the Hessian is not zero.
  const loss = reduceSum(mul(mul(pooled, pooled), weights!), [0, 1, 2, 3], false);
  const [dx, dw, db] = grad(loss, [x!, w!, b!]);
  const [hv] = vectorJacobianProducts([dw!], [v!], [w!]);
  const outputs: Record<string, Value> = { dx: dx!, dw: dw!, db: db!, hv: hv! };
  for (const [name, value] of Object.entries(outputs)) graph.addOutput(name, value);
  return serializeGraph(graph);
}

async function run(bytes: Uint8Array) {
  const random = new Random(4);
  // Zero pixels give conv outputs equal to the bias: tied windows at +0.25 in one channel, negative windows in the other.
  const data = {
    x: Float32Array.from({ length: N * 64 }, (_, i) => (i % 64 < 32 ? 0 : random.uniform(-1, 1))),
    w: Float32Array.from({ length: 18 }, () => random.uniform(-1, 1)),
    b: Float32Array.of(0.25, -0.25),
    weights: Float32Array.from({ length: N * 32 }, () => random.uniform(-1, 1)),
    v: Float32Array.from({ length: 18 }, () => random.uniform(-1, 1)),
  };
  const session = await createSession(bytes, { threads: 1 });
  const feeds = Object.fromEntries(Object.entries(data).map(([name, values]) => [name, new ort.Tensor('float32', values, shapes[name as keyof typeof shapes])]));
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
}

describe("ReLU's gradient through a MaxPool", () => {
  it('masks the pooled gradient before unpooling it; the full-size unpooled gradient is dead and not written', () => {
    const nodes = onnxProto.onnx.ModelProto.decode(build(false)).graph!.node!;
    const masked = new Set(nodes.filter((n) => /pooled_dX(_\d+)?$/.test(n.name!)).flatMap((n) => n.output!));
    const unpools = nodes.filter((n) => n.opType === 'MaxUnpool');
    // One in the first backward pass, one in the Hessian-vector product's.
    assert.equal(unpools.length, 2);
    for (const unpool of unpools) assert.ok(masked.has(unpool.input![0]!), `${unpool.name} unpools a masked pooled gradient`);
    const plain = onnxProto.onnx.ModelProto.decode(build(true)).graph!.node!;
    assert.equal(plain.filter((n) => n.name!.includes('pooled_dX')).length, 0, 'with an Identity between them the plain rule is used');
  });

  it('gives the plain rule gradients and Hessian-vector products bit for bit, ties and negative windows included', async () => {
    const [fused, plain] = [await run(build(false)), await run(build(true))];
    assert.ok(fused.dw!.some((g) => g !== 0) && fused.hv!.some((g) => g !== 0), 'gradients flow');
    assert.deepEqual(fused, plain);
  });
});
