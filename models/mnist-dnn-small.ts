import { dense, flatten, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** 784-32-32-10 (26,506 parameters): the size the homework asks for in the sharpness bonus. */
export default sequential(
  'mnist-dnn-small',
  { description: 'MNIST classifier, fully connected 784-32-32-10 with ReLU', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [flatten(), dense(32), relu(), dense(32), relu(), dense(10)],
);
