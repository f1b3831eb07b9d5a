import { dense, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** 1-190-1 ReLU (571 parameters): the shallow model of the "simulate a function" experiment. */
export default sequential(
  'func-shallow',
  { description: 'regression of a 1-D function, fully connected 1-190-1 with ReLU', task: 'regression', inputShape: [1], dataset: 'function:sinc' },
  [dense(190), relu(), dense(1)],
);
