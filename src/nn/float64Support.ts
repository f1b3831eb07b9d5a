/**
 * Which layers of a model cannot run in float64 graphs: their ONNX ops have
 * no float64 kernel in onnxruntime's CPU provider (ORT-NOTES). `build --dtype
 * float64` refuses such models and `analyze` falls back to float32 for them.
 */
import type { Model } from './model.ts';

const FLOAT32_ONLY_LAYER_TYPES = new Set(['Conv2d', 'AvgPool2d']);

/** "Conv2d conv1"-style names of the layers that need float32. */
export function float32OnlyLayers(model: Model): string[] {
  // An imported graph lists its ONNX op types (src/nn/imported.ts).
  const float32Only = (layer: Model['layers'][number]) =>
    FLOAT32_ONLY_LAYER_TYPES.has(layer.type) || (layer.type === 'Imported' && /\b(Conv|AveragePool)\b/.test(String(layer.attributes.ops)));
  return model.layers.filter(float32Only).map((layer) => `${layer.type} ${layer.name}`);
}
