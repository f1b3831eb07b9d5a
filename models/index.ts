/** Every model hw1-onnx knows, by name. Add a file here and list it to make a model available to the CLI. */
import type { ModelDeclaration } from '../src/nn/model.ts';
import cifarCnn from './cifar-cnn.ts';
import funcDeep from './func-deep.ts';
import funcShallow from './func-shallow.ts';
import mnistCnn from './mnist-cnn.ts';
import mnistDnn from './mnist-dnn.ts';
import mnistDnnSmall from './mnist-dnn-small.ts';

export const modelDeclarations: readonly ModelDeclaration[] = [mnistDnn, mnistDnnSmall, mnistCnn, cifarCnn, funcShallow, funcDeep];
