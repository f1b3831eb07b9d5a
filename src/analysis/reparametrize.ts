/**
 * The rescaling of Dinh et al. 2017 ("Sharp minima can generalize for deep
 * nets", section 4): for two dense layers with a ReLU between them, multiply
 * the first one's weights and bias by a > 0 and divide the second one's
 * weights by a. ReLU is positively homogeneous, relu(a z) = a relu(z) for
 * a > 0, so the second layer sees a relu(z) through W / a and computes
 * exactly what it did: the network is the same function, and its loss the
 * same number, at every a. Its Hessian is not the same: in the new
 * coordinates H_a = T⁻¹ H T⁻¹ with T = diag(a on the first layer, 1/a on the
 * second's weights, 1 elsewhere), so λ_max and every sharpness built on it
 * can be made as large as one likes without changing what the network does.
 */
import type { Model } from '../nn/model.ts';
import type { Weights } from './flatWeights.ts';

export interface Rescaling {
  /** The dense layer scaled up by `factor`, weights and bias: "fc1". */
  layer: string;
  /** The dense layer right after it (past one ReLU) whose weights are divided by `factor`; its bias stays: "fc2". */
  next: string;
  /** a > 0. */
  factor: number;
}

/**
 * New float64 weights for every parameter of `model`: `layer`'s weight and
 * bias times a, `next`'s weight divided by a, everything else copied.
 * Throws a one-line Error when a ≤ 0 or the layers are not Linear → ReLU →
 * Linear, next to each other in the model.
 */
export function rescaleLayers(model: Model, weights: Weights, rescaling: Rescaling): Map<string, Float64Array> {
  const { layer, next, factor } = rescaling;
  const where = `rescaleLayers(${layer} -> ${next}, a = ${factor})`;
  // relu(a z) = a relu(z) holds only for a > 0: a negative a would flip which units are on.
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new Error(`${where}: the factor must be a finite number > 0 (ReLU is positively homogeneous only for a > 0), got ${factor}`);
  }
  const index = (name: string) => {
    const i = model.layers.findIndex((l) => l.name === name);
    if (i < 0) throw new Error(`${where}: model ${model.name} has no layer "${name}" (its layers: ${model.layers.map((l) => l.name).join(', ')})`);
    if (model.layers[i]!.type !== 'Linear') throw new Error(`${where}: layer "${name}" is a ${model.layers[i]!.type}, not a dense (Linear) layer`);
    return i;
  };
  const first = index(layer);
  const second = index(next);
  if (second !== first + 2) {
    throw new Error(
      `${where}: "${layer}" and "${next}" are not consecutive dense layers with one ReLU between them in ${model.name} ` +
        `(layers ${first + 1} and ${second + 1} of ${model.layers.map((l) => l.name).join(', ')}); name a layer and the dense layer two after it`,
    );
  }
  const between = model.layers[first + 1]!;
  if (between.type !== 'ReLU') {
    throw new Error(`${where}: between "${layer}" and "${next}" is "${between.name}", a ${between.type}, not a ReLU; the rescaling keeps the function only through a ReLU`);
  }

  const scaledUp = new Set(model.layers[first]!.parameters.map((p) => p.name));
  const scaledDown = `${next}.weight`;
  const out = new Map<string, Float64Array>();
  for (const p of model.parameters) {
    const values = weights.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== size) {
      throw new Error(`${where}: the weights of ${p.name} are ${values ? `of size ${values.length}` : 'missing'}, expected [${p.shape}]`);
    }
    // W / a, not W * (1 / a): one rounding, not two.
    const scaled = scaledUp.has(p.name) ? (v: number) => v * factor : p.name === scaledDown ? (v: number) => v / factor : (v: number) => v;
    out.set(p.name, Float64Array.from(values, scaled));
  }
  return out;
}

/**
 * The outputs (logits for a classifier) of a network of Flatten, Linear and
 * ReLU layers in plain float64 arithmetic, row-major [count, outputs]:
 * nothing shared with the emitted graphs, so it checks them independently.
 */
export function denseNetworkOutputs(model: Model, weights: Weights, x: ArrayLike<number>, count: number): Float64Array {
  const inputs = model.inputShape.reduce((a, b) => a * b, 1);
  if (x.length !== count * inputs) throw new Error(`denseNetworkOutputs(${model.name}): x has ${x.length} values, expected ${count} x ${inputs}`);
  let width = inputs;
  let h = Float64Array.from(x);
  for (const layer of model.layers) {
    if (layer.type === 'Flatten') continue;
    if (layer.type === 'ReLU') {
      for (let i = 0; i < h.length; i++) h[i] = Math.max(0, h[i]!);
      continue;
    }
    if (layer.type !== 'Linear') throw new Error(`denseNetworkOutputs(${model.name}): layer "${layer.name}" is a ${layer.type}; only Flatten, Linear and ReLU are computed here`);
    const w = weights.get(`${layer.name}.weight`)!;
    const b = weights.get(`${layer.name}.bias`);
    const outputs = layer.outputShape[0]!;
    const next = new Float64Array(count * outputs);
    for (let n = 0; n < count; n++) {
      for (let j = 0; j < outputs; j++) {
        let sum = b ? b[j]! : 0;
        for (let i = 0; i < width; i++) sum += w[j * width + i]! * h[n * width + i]!;
        next[n * outputs + j] = sum;
      }
    }
    h = next;
    width = outputs;
  }
  return h;
}
