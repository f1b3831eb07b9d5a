import { mnistEpochWorkload } from './mnistEpoch.ts';

export default mnistEpochWorkload('B2', 'mnist-cnn');
