import type { DType } from './dtype.ts';
import { formatShape, type Shape } from './shape.ts';

/** Attribute values, tagged because JavaScript numbers do not say int or float. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorData }
  | { kind: 'graph'; value: Graph };

export interface TensorData {
  dtype: DType;
  shape: number[];
  data: ArrayLike<number> | BigInt64Array;
}

/** A tensor-valued edge of the graph: a graph input, an initializer or a node output. */
export class Value {
  constructor(
    private owner: Graph,
    private valueName: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly producer: Node | null,
  ) {}

  get name(): string {
    return this.valueName;
  }

  /** The graph whose nodes may consume this value. */
  get graph(): Graph {
    return this.owner;
  }

  /** Moves the value into a subgraph built from nodes of its graph (see hoistedLoop). */
  moveTo(graph: Graph): void {
    this.owner = graph;
  }

  /** Graph outputs take their contract name by renaming the producing value (see Graph.addOutput). */
  renameTo(name: string): void {
    this.valueName = name;
  }

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly opType: string;
  readonly name: string;
  /** null stands for an omitted optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attributes: Readonly<Record<string, Attribute>>;
  readonly docString?: string;
}

export interface Initializer {
  readonly value: Value;
  readonly data: TensorData;
}

export interface GraphOutput {
  readonly name: string;
  readonly value: Value;
  readonly docString?: string;
}

/**
 * An ONNX graph under construction. Nodes are appended in topological order
 * (an op can only consume values that exist), so the node list is already a
 * valid execution order and the autodiff engine can walk it backwards.
 */
export class Graph {
  readonly inputs: Value[] = [];
  readonly inputDocs = new Map<Value, string>();
  readonly outputs: GraphOutput[] = [];
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private readonly usedNames = new Set<string>();
  private readonly scopeStack: string[] = [];
  private readonly constantCache = new Map<string, Value>();

  /** Values of an enclosing graph that this graph (a Loop body) reads by name. */
  readonly outerReferences: Value[] = [];

  /**
   * `namePrefix` prefixes this graph's constant names: a subgraph must not
   * redefine a name of the graph around it (ONNX's single-assignment rule).
   */
  constructor(
    readonly name: string,
    public docString = '',
    private readonly namePrefix = '',
  ) {}

  /**
   * A handle in this graph (a subgraph) on a value of an enclosing graph:
   * ONNX subgraphs may read outer values by name without declaring them.
   */
  outerReference(value: Value): Value {
    const existing = this.outerReferences.find((v) => v.name === value.name);
    if (existing) return existing;
    const reference = new Value(this, value.name, value.dtype, value.shape, null);
    this.outerReferences.push(reference);
    return reference;
  }

  /** The current naming scope, e.g. "forward/fc1". */
  get scope(): string {
    return this.scopeStack.join('/');
  }

  /** Runs build() with names prefixed by `name/`, so Netron groups the nodes. */
  withScope<T>(name: string, build: () => T): T {
    this.scopeStack.push(name);
    try {
      return build();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** Replaces the whole scope path (the engine names backward nodes after forward ones). */
  withScopePath<T>(path: string, build: () => T): T {
    const saved = this.scopeStack.splice(0, this.scopeStack.length, ...path.split('/').filter(Boolean));
    try {
      return build();
    } finally {
      this.scopeStack.splice(0, this.scopeStack.length, ...saved);
    }
  }

  /** A unique name in the current scope: "forward/fc1/Gemm", then "forward/fc1/Gemm_2". */
  uniqueName(base: string): string {
    const full = this.scope ? `${this.scope}/${base}` : base;
    let candidate = full;
    for (let n = 2; this.usedNames.has(candidate); n++) candidate = `${full}_${n}`;
    this.usedNames.add(candidate);
    return candidate;
  }

  private claimExactName(name: string): void {
    if (this.usedNames.has(name)) throw new Error(`graph ${this.name}: the name "${name}" is used twice`);
    this.usedNames.add(name);
  }

  addInput(name: string, dtype: DType, shape: Shape, docString?: string): Value {
    this.claimExactName(name);
    const value = new Value(this, name, dtype, shape, null);
    this.inputs.push(value);
    if (docString) this.inputDocs.set(value, docString);
    return value;
  }

  /**
   * A value with no producer that is not (yet) an input of this graph: a
   * stand-in for a subgraph input while the subgraph's nodes are built here
   * (see hoistedLoop).
   */
  placeholder(name: string, dtype: DType, shape: Shape): Value {
    const unique = this.uniqueName(name);
    return new Value(this, unique, dtype, shape, null);
  }

  addInitializer(name: string, data: TensorData): Value {
    this.claimExactName(name);
    const value = new Value(this, name, data.dtype, data.shape, null);
    this.initializers.push({ value, data });
    return value;
  }

  /**
   * A constant stored as an initializer of its own dtype (float attributes
   * are float32 even in float64 graphs, which would cost precision), shared
   * by every use and named by its value.
   */
  constant(dtype: DType, shape: number[], data: number[]): Value {
    const key = `${dtype}[${shape.join(',')}](${data.join(',')})`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const label = data.length <= 4 ? data.join('_') : `${data.length}values`;
    let name = `${this.namePrefix}const/${dtype}/${shape.length ? shape.join('x') + '/' : ''}${label}`;
    for (let n = 2; this.usedNames.has(name); n++) name = `${name}_${n}`;
    const tensorData: TensorData = {
      dtype,
      shape,
      data: dtype === 'int64' ? BigInt64Array.from(data.map((x) => BigInt(x))) : data,
    };
    const value = this.addInitializer(name, tensorData);
    this.constantCache.set(key, value);
    return value;
  }

  addNode(
    opType: string,
    inputs: readonly (Value | null)[],
    outputSpecs: ReadonlyArray<{ dtype: DType; shape: Shape }>,
    attributes: Record<string, Attribute> = {},
    options: { nameHint?: string; docString?: string } = {},
  ): Value[] {
    for (const input of inputs) {
      if (input && input.graph !== this) {
        throw new Error(`${opType}: input ${input.name} belongs to graph ${input.graph.name}, not ${this.name}`);
      }
    }
    const name = this.uniqueName(options.nameHint ?? opType);
    const outputs: Value[] = [];
    const node: Node = { opType, name, inputs, outputs, attributes, docString: options.docString };
    outputSpecs.forEach((spec, i) => {
      const outputName = outputSpecs.length === 1 ? name : `${name}:${i}`;
      if (outputSpecs.length > 1) this.claimExactName(outputName);
      outputs.push(new Value(this, outputName, spec.dtype, spec.shape, node));
    });
    this.nodes.push(node);
    return outputs;
  }

  /**
   * Declares a graph output under its contract name ("loss",
   * "grad.fc1.weight"). A node's output is simply renamed; a graph input, an
   * initializer or a value that is already an output goes through an
   * Identity node. (An Identity per output costs a full copy of the tensor
   * every run: with parameters and optimizer state as outputs, that is most
   * of a training step's memory traffic.)
   */
  addOutput(name: string, value: Value, docString?: string): Value {
    let output = value;
    const isOutput = this.outputs.some((o) => o.value === value);
    if (value.name !== name && value.producer && !isOutput) {
      this.claimExactName(name);
      value.renameTo(name);
    } else if (value.name !== name || this.inputs.includes(value) || isOutput) {
      this.claimExactName(name);
      const node: Node = { opType: 'Identity', name: `output/${name}`, inputs: [value], outputs: [], attributes: {} };
      output = new Value(this, name, value.dtype, value.shape, node);
      (node.outputs as Value[]).push(output);
      this.nodes.push(node);
    }
    this.outputs.push({ name, value: output, docString });
    return output;
  }

  input(name: string): Value {
    const value = this.inputs.find((v) => v.name === name);
    if (!value) throw new Error(`graph ${this.name} has no input "${name}"`);
    return value;
  }
}
