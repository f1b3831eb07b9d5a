import { mnistEpochWorkload } from './mnistEpoch.ts';

export default mnistEpochWorkload('B1', 'mnist-dnn');
