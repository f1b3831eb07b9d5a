import { dense, relu } from '../src/nn/layers.ts';
import { sequential } from '../src/nn/model.ts';

/** 1-10-18-15-4-1 ReLU (572 parameters): the deep model of the "simulate a function" experiment. */
export default sequential(
  'func-deep',
  { description: 'regression of a 1-D function, fully connected 1-10-18-15-4-1 with ReLU', task: 'regression', inputShape: [1], dataset: 'function:sinc' },
  [dense(10), relu(), dense(18), relu(), dense(15), relu(), dense(4), relu(), dense(1)],
);
