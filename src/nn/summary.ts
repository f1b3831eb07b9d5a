import type { Model } from './model.ts';

/** A table like torchsummary's: layer, output shape (batch as -1), parameter count, total. */
export function modelSummary(model: Model): string {
  const rows = model.layers.map((layer) => [
    `${layer.name} (${layer.type})`,
    `[-1, ${layer.outputShape.join(', ')}]`,
    layer.parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0).toLocaleString('en-US'),
  ]);
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0));
  return [
    `${model.name}: ${model.description}`,
    `Input: [-1, ${model.inputShape.join(', ')}]`,
    rule,
    line(header),
    rule.replace(/-/g, '='),
    ...rows.map(line),
    rule.replace(/-/g, '='),
    `Total params: ${model.parameterCount.toLocaleString('en-US')}`,
    rule,
  ].join('\n');
}
