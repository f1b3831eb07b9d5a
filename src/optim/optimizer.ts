import type { Value } from '../ir/graph.ts';

/** One parameter's tensors as the update sees them: current value, gradient, state slots. */
export interface ParameterSlot {
  readonly name: string;
  readonly param: Value;
  readonly grad: Value;
  readonly state: ReadonlyMap<string, Value>;
}

export interface UpdatedSlot {
  readonly param: Value;
  readonly state: ReadonlyMap<string, Value>;
}

/**
 * An optimizer emitted as ONNX ops. The learning rate and the step count are
 * graph inputs (a schedule needs no rebuild); hyper-parameters are constants;
 * state goes in and the updated state comes out, so the runtime owns it.
 */
export interface Optimizer {
  readonly name: string;
  /** The hyper-parameters, PyTorch's names and defaults, recorded in manifests. */
  readonly config: Readonly<Record<string, number | boolean>>;
  /**
   * PyTorch's default learning rate for this optimizer. The learning rate is a
   * graph input, not a hyper-parameter; this is what a caller uses when none is given.
   */
  readonly defaultLr: number;
  /** State slot names per parameter, PyTorch's names: "exp_avg", "momentum_buffer". */
  readonly stateSlots: readonly string[];
  /**
   * The value every element of a state slot starts at, for the slots that do
   * not start at zero (Adagrad's "sum" starts at initial_accumulator_value).
   */
  readonly initialState?: Readonly<Record<string, number>>;
  /**
   * `lr` is a scalar of the parameters' dtype; `step` the 1-based step count,
   * an int64 scalar. Scalars derived from them go through doubleScalars.
   */
  update(slots: readonly ParameterSlot[], lr: Value, step: Value): UpdatedSlot[];
}
