import { conv2d, dense, flatten, maxPool2d, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** A LeNet-style CIFAR-10 network: Conv(3,16,5)-pool-Conv(16,32,5)-pool-800-128-10. */
export default sequential(
  'cifar-cnn',
  { description: 'CIFAR-10 classifier, two 5x5 convolutions (16, 32 channels) with max pooling, then 800-128-10', task: 'classification', inputShape: [3, 32, 32], dataset: 'cifar10' },
  [conv2d(16, 5), relu(), maxPool2d(2), conv2d(32, 5), relu(), maxPool2d(2), flatten(), dense(128), relu(), dense(10)],
);
