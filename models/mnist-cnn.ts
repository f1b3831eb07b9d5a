import { conv2d, dense, flatten, maxPool2d, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** Conv(1,16,5)-ReLU-MaxPool(2)-Conv(16,32,5)-ReLU-MaxPool(2)-Flatten-Linear(512,10). */
export default sequential(
  'mnist-cnn',
  { description: 'MNIST classifier, two 5x5 convolutions (16, 32 channels) with max pooling, then 512-10', task: 'classification', inputShape: [1, 28, 28], dataset: 'mnist' },
  [conv2d(16, 5), relu(), maxPool2d(2), conv2d(32, 5), relu(), maxPool2d(2), flatten(), dense(10)],
);
