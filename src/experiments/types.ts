import type { ConvolutionsRecord } from '../autodiff/convFormulations.ts';
/**
 * The experiment framework's data types, defined once: what an experiment
 * plans (RunSpec), what one run records (RunResult), and what a finished or
 * partly finished experiment holds (ExperimentResults).
 */
import type { ModelDeclaration } from '../nn/model.ts';

export const PROFILES = ['quick', 'full'] as const;
export type Profile = (typeof PROFILES)[number];

export interface TrainingSettings {
  epochs: number;
  /** Examples per step; the whole training set when 'full-batch'. */
  batchSize: number | 'full-batch';
  optimizer: string;
  optimizerOptions?: Record<string, number | boolean>;
  lr: number;
  /** Multiply the learning rate by `factor` at each of these epochs (a step schedule). */
  lrDrops?: { epochs: number[]; factor: number };
  /** Evaluate the test set after every `evalEvery` epochs (and after the last). */
  evalEvery: number;
  /** The graphs' float type (default float32); float64 where the gradient must really go to zero. */
  dtype?: 'float32' | 'float64';
  /**
   * Stop before `epochs` once an epoch's training accuracy (the mean over its
   * batches) reaches this share; `epochs` is then the limit. Checked where the
   * test set is evaluated, so set evalEvery 1 to check every epoch.
   */
  stopAtTrainAccuracy?: number;
}

/** One independent training run of an experiment. */
export interface RunSpec {
  /** Unique in its experiment and usable as a file name: "sinc-deep". */
  key: string;
  /** Short label for charts and tables: "deep (1-10-18-15-4-1)". */
  label: string;
  /** Groups runs drawn in one chart (the function, the data set). */
  group: string;
  model: ModelDeclaration;
  /** permuteTrainLabels: the seed of a permutation of the training labels (random labels, 1-3). */
  data: { limitTrain?: number; limitTest?: number; dataDir?: string; permuteTrainLabels?: number };
  training: TrainingSettings;
  /** The suite's seed (`run --seed`): it names the folder the run's files go in. */
  seed: number;
  /**
   * The seed of this run's initial weights and batch order, where the plan
   * draws several runs from one suite seed (8 initializations); `seed` otherwise.
   */
  runSeed?: number;
  /** Record the trained model's predictions on this many evenly spaced points of (0, 1] (function fits). */
  predictionPoints?: number;
  /** What else the run keeps besides its final weights. */
  record?: {
    /** Write the weights every n epochs, epoch 0 included (and the last), with the train and test loss there. */
    snapshotEvery?: number;
    /** Keep every step's loss and gradient norm (before its update). */
    steps?: boolean;
    /** Evaluate the final weights on the whole training set (final.evaluatedTrainLoss), not just the last epoch's running mean. */
    evaluateTrain?: boolean;
  };
}

/** Weights written during a run: where, and how the model did with them. */
export interface SnapshotRecord {
  epoch: number;
  /** Relative to the run's result file. */
  path: string;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss: number;
  testAccuracy?: number;
}

export interface ExperimentPlan {
  runs: RunSpec[];
  /** Settings worth stating in the report, as label -> text. */
  settings: Record<string, string>;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
}

export interface LayerRecord {
  name: string;
  type: string;
  outputShape: number[];
  parameters: number;
}

/** out/<experiment>/runs/<key>.json */
export interface RunResult {
  format: 'hw1-onnx/run@2';
  experiment: string;
  key: string;
  label: string;
  group: string;
  profile: Profile;
  /** The suite's seed; runSeed is the run's own when it differs. */
  seed: number;
  runSeed?: number;
  /** Hash of the run's specification: a changed plan is never mistaken for a finished run. */
  specHash: string;
  model: { name: string; description: string; task: string; parameterCount: number; layers: LayerRecord[] };
  data: { source: string; train: number; test: number };
  training: TrainingSettings & { resolvedBatchSize: number; optimizerConfig: Record<string, number | boolean> };
  epochs: EpochRecord[];
  /**
   * trainLoss/trainAccuracy: the last epoch's means over its batches;
   * evaluatedTrain*: the final weights on the whole training set (record.evaluateTrain).
   */
  final: { trainLoss: number; trainAccuracy?: number; testLoss: number; testAccuracy?: number; evaluatedTrainLoss?: number; evaluatedTrainAccuracy?: number };
  predictions?: { x: number[]; y: number[]; target: number[] };
  /** The final (or, after divergence, the kept) weights as safetensors under PyTorch's names, relative to this file. */
  weights: string;
  snapshots?: SnapshotRecord[];
  /** Every step's loss and gradient 2-norm, before its update (record.steps). */
  steps?: { loss: number[]; gradNorm: number[] };
  seconds: number;
  /** A diverged run (NaN or Inf loss) stops early and says so; its epochs are the finite ones. */
  status: 'completed' | 'diverged';
  /** Set when training.stopAtTrainAccuracy ended the run before its epoch limit. */
  stoppedEarly?: { epoch: number; reason: string };
  /** For models with convolutions: each layer shape's gradient formulation, and whether it was measured here (convTuner.ts) or the fixed choice. */
  convolutions?: ConvolutionsRecord;
  message?: string;
  software: { node: string; onnxruntime: string; hw1onnx: string };
  finishedAt: string;
}

/** out/<experiment>/results.json: the plan's settings and every finished run. */
export interface ExperimentResults {
  format: 'hw1-onnx/experiment@1';
  experiment: string;
  title: string;
  section: string;
  profile: Profile;
  seed: number;
  settings: Record<string, string>;
  planned: number;
  runs: RunResult[];
  complete: boolean;
  /** What the experiment's analyze step computed from the complete runs (and those of the experiments it requires). */
  analysis?: unknown;
}
