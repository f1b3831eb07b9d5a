/** Every experiment `hw1-onnx run` knows, in report order. */
import type { Experiment } from '../src/experiments/experiment.ts';
import { functionExperiment } from './1-1-function.ts';
import { tasksExperiment } from './1-1-tasks.ts';
import { gradNormExperiment } from './1-2-gradnorm.ts';
import { landscapeExperiment } from './1-2-landscape.ts';
import { minimalRatioExperiment } from './1-2-minimal-ratio.ts';
import { trajectoryExperiment } from './1-2-trajectory.ts';
import { interpolationExperiment } from './1-3-interpolation.ts';
import { paramsExperiment } from './1-3-params.ts';
import { randomLabelsExperiment } from './1-3-random-labels.ts';
import { reparametrizationExperiment } from './1-3-reparametrization.ts';
import { sensitivityExperiment } from './1-3-sensitivity.ts';
import { sharpnessExperiment } from './1-3-sharpness.ts';

export const experiments: readonly Experiment[] = [
  functionExperiment,
  tasksExperiment,
  trajectoryExperiment,
  gradNormExperiment,
  minimalRatioExperiment,
  landscapeExperiment,
  randomLabelsExperiment,
  paramsExperiment,
  interpolationExperiment,
  sensitivityExperiment,
  sharpnessExperiment,
  reparametrizationExperiment,
];
