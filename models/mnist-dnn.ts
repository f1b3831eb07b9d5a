import { dense, flatten, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** The walking skeleton's network: 784-256-256-10 with ReLU. */
export default sequential(
  'mnist-dnn',
  { description: 'MNIST classifier, fully connected 784-256-256-10 with ReLU', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [flatten(), dense(256), relu(), dense(256), relu(), dense(10)],
);
