import type { Node, Value } from '../ir/graph.ts';

/**
 * What a gradient rule sees: the forward node, its input and output values
 * (the same graph values the forward pass computed, never copies, so the
 * backward graph stays connected and can be differentiated again), and the
 * gradient of the final scalar with respect to each output (null where none
 * flows).
 */
export interface GradientContext {
  readonly node: Node;
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly outputGrads: readonly (Value | null)[];
  /** Whether the gradient of input i is wanted; rules skip work for the others. */
  needsGrad(inputIndex: number): boolean;
}

/**
 * Returns one gradient per input (null or undefined for none). A gradient may
 * have the broadcast shape of the op's output: the engine reduces it back to
 * the input's shape, so rules never repeat that logic.
 */
export type GradientRule = (context: GradientContext) => ReadonlyArray<Value | null | undefined>;
