import type { Value } from '../ir/graph.ts';
import type { Shape } from '../ir/shape.ts';

/** A trainable tensor in PyTorch's state_dict naming and layout ("fc1.weight" is [out, in]). */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /**
   * PyTorch's default init for Linear/Conv: uniform in +-1/sqrt(fan_in); or
   * given values (an imported model's initializers, which no seed changes),
   * `digest` naming them for a run's identity.
   */
  readonly init: ParameterInit;
}

export type ParameterInit =
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'values'; readonly values: Float32Array | Float64Array; readonly digest: string };

/** A layer once its input shape is known: shapes checked, parameters named. */
export interface ResolvedLayer {
  readonly name: string;
  readonly type: string;
  /** Per-example shapes, without the batch dimension. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly parameters: readonly ParameterSpec[];
  /**
   * Every setting that changes what the layer computes beyond its shapes
   * (kernel, stride, padding, bias, dropout p and seed, an imported graph's
   * sha256), PyTorch's names: a run's identity (specHash) includes them.
   */
  readonly attributes: Readonly<Record<string, number | boolean | string | readonly number[]>>;
  apply(x: Value, parameters: ReadonlyMap<string, Value>, mode: ForwardMode): Value;
}

/** Train or eval behaviour, as PyTorch's model.train() / model.eval() (Dropout differs). */
export interface ForwardMode {
  readonly training: boolean;
}

/** A layer as declared in models/: it learns its input shape only when the model is resolved. */
export interface LayerDeclaration {
  readonly type: string;
  /** Explicit name; otherwise the model names it (fc1, fc2, ... for Linear). */
  readonly name?: string;
  /** Prefix for automatic names: "fc" gives fc1, fc2. */
  readonly namePrefix: string;
  resolve(inputShape: readonly number[], name: string): Omit<ResolvedLayer, 'name' | 'type' | 'inputShape'>;
}

export type { Shape };
