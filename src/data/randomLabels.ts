/**
 * Random labels (HW1 1-3, "can the network fit random labels?", after Zhang
 * et al. 2017): the training labels permuted by a seeded permutation, so each
 * image gets another image's label while every class keeps its count. Only
 * the training set is touched; the test set keeps its real labels, so test
 * accuracy stays at chance and the gap to the training accuracy is pure
 * memorization.
 */
import { Random } from '../util/random.ts';
import type { Dataset } from './dataset.ts';

export function withPermutedLabels(dataset: Dataset, seed: number): Dataset {
  if (!dataset.labels) throw new Error(`withPermutedLabels: ${dataset.name} has no class labels to permute`);
  const order = new Random(seed).permutation(dataset.count);
  const labels = Uint8Array.from(order, (source) => dataset.labels![source]!);
  return { ...dataset, name: `${dataset.name}, labels permuted (seed ${seed})`, labels };
}
