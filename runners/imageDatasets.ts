/** The two image data sets the sweeps of 1-3 run on: their names in reports and their per-example shapes. */
export const IMAGE_DATASETS = {
  mnist: { name: 'MNIST', inputShape: [1, 28, 28] },
  cifar10: { name: 'CIFAR-10', inputShape: [3, 32, 32] },
} as const;

export type ImageDatasetName = keyof typeof IMAGE_DATASETS;
