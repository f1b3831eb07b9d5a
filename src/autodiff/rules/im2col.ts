/**
 * A convolution's weight gradient as one matrix product over im2col columns:
 * dW[o, c, a, b] = Σ_{n,y,x} dY[n, o, y, x] · Xpad[n, c, y·s + a·d, x·s + b·d].
 *
 * The columns come from one Gather on X's rows in NHWC order ([N, H·W, C],
 * indexed along H·W by a constant table of every window position), so each
 * gathered element is a contiguous block of C floats; the product is one Gemm
 * dY[O, N·Ho·Wo] (N and O swapped) × cols[N·Ho·Wo, kH·kW·C]. With many input channels this is
 * several times faster on onnxruntime's CPU provider than today's
 * convolution with batch and channels swapped (B2's conv2, 16 channels: 1.9
 * against 5.5 ms); with one channel the blocks are single floats and it is
 * slower (convFormulations.ts chooses). Every op has a rule of its own, so
 * second derivatives follow.
 */
import type { Value } from '../../ir/graph.ts';
import { flatten, gather, gemm, matmul, pad, reshape, transpose } from '../../ir/ops.ts';
import { col2im, convOutputSize, type ResolvedConv2d } from '../../ir/spatialOps.ts';

/** The row (of H·W) each output position y, x and kernel offset a, b reads, after padding; [Ho, Wo, kH·kW]. */
export function windowRowIndices(height: number, width: number, kernel: [number, number], c: ResolvedConv2d): { indices: number[]; shape: [number, number, number] } {
  const paddedH = height + c.pads[0] + c.pads[2];
  const paddedW = width + c.pads[1] + c.pads[3];
  const outH = convOutputSize(height, kernel[0], c.strides[0], c.pads[0], c.pads[2], c.dilations[0]);
  const outW = convOutputSize(width, kernel[1], c.strides[1], c.pads[1], c.pads[3], c.dilations[1]);
  const indices: number[] = [];
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      for (let a = 0; a < kernel[0]; a++) {
        for (let b = 0; b < kernel[1]; b++) indices.push((y * c.strides[0] + a * c.dilations[0]) * paddedW + x * c.strides[1] + b * c.dilations[1]);
      }
    }
  }
  if (paddedH * paddedW <= Math.max(...indices)) throw new Error('windowRowIndices: a window reaches past the padded input');
  return { indices, shape: [outH, outW, kernel[0] * kernel[1]] };
}

/** X [N, C, H, W] zero-padded as the window says, and its padded plane size H'·W' (the positions windowRowIndices numbers). */
function paddedPlanes(x: Value, c: ResolvedConv2d): { padded: Value; planeSize: number } {
  const [height, width] = [x.shape[2] as number, x.shape[3] as number];
  const padded = c.pads.some((p) => p !== 0) ? pad(x, [0, 0, c.pads[0], c.pads[1], 0, 0, c.pads[2], c.pads[3]]) : x;
  return { padded, planeSize: (height + c.pads[0] + c.pads[2]) * (width + c.pads[1] + c.pads[3]) };
}

/** X [N, C, H, W] -> columns [N·Ho·Wo, kH·kW·C] (window offset major, channel minor). */
export function im2colColumns(x: Value, kernel: [number, number], c: ResolvedConv2d): Value {
  const [, channels, height, width] = x.shape as [unknown, number, number, number];
  const { padded, planeSize } = paddedPlanes(x, c);
  const rows = reshape(transpose(padded, [0, 2, 3, 1]), [0, planeSize, channels], { name: 'nhwc_rows' });
  const { indices, shape } = windowRowIndices(height, width, kernel, c);
  const windows = gather(rows, rows.graph.constant('int64', shape, indices), 1, { name: 'im2col' });
  return flatten(windows, 3, { name: 'columns' });
}

/** dW [O, C, kH, kW] from X [N, C, H, W] and dY [N, O, Ho, Wo] by im2col and one Gemm. */
export function im2colWeightGradient(x: Value, dy: Value, kernel: [number, number], c: ResolvedConv2d): Value {
  const channels = x.shape[1] as number;
  const outChannels = dy.shape[1] as number;
  const columns = im2colColumns(x, kernel, c);
  // dY as [O, N·Ho·Wo] (rows in the columns' n, y, x order): swapping N and O moves blocks of Ho·Wo
  // floats, and a Gemm without transA runs faster in MLAS than dY's NHWC rows with transA (2.1 against 2.5 ms).
  const dyByChannel = flatten(transpose(dy, [1, 0, 2, 3]), 1, { name: 'dy_by_channel' });
  const product = gemm(dyByChannel, columns, null, { name: 'dW_matrix' });
  return transpose(reshape(product, [outChannels, kernel[0], kernel[1], channels]), [0, 3, 1, 2], { name: 'dW' });
}

/**
 * A convolution's input gradient as one MatMul and a Col2Im (opset 18):
 * dX = col2im(W as [C·kH·kW, O] × dY as [N, O, Ho·Wo]). onnxruntime runs
 * the MatMul over the whole batch on all threads, where ConvTranspose does
 * a small Gemm and a col2im image by image (B2's conv2, batch 64: kernels
 * 2.6 against 3.7 ms, 2 threads). Col2Im has a float32 kernel only.
 */
export function col2imInputGradient(dy: Value, w: Value, x: Value, c: ResolvedConv2d): Value {
  const [outChannels, channels, kh, kw] = w.shape as [number, number, number, number];
  const [outH, outW] = [dy.shape[2] as number, dy.shape[3] as number];
  const byInputChannel = reshape(transpose(w, [1, 2, 3, 0]), [channels * kh * kw, outChannels], { name: 'weight_columns' });
  const columns = matmul(byInputChannel, reshape(dy, [0, outChannels, outH * outW], { name: 'dy_rows' }), { name: 'dX_columns' });
  return col2im(columns, [x.shape[2] as number, x.shape[3] as number], [kh, kw], c, { name: 'dX' });
}

/**
 * Col2Im's adjoint, im2col in Col2Im's layout: image [N, C, H, W] ->
 * columns [N, C·kH·kW, L], by one Gather of each channel's padded plane
 * along its H·W positions (window positions in the padding read zeros).
 */
export function imageColumns(image: Value, kernel: [number, number], c: ResolvedConv2d): Value {
  const [, channels, height, width] = image.shape as [unknown, number, number, number];
  const { padded, planeSize } = paddedPlanes(image, c);
  const planes = reshape(padded, [0, channels, planeSize], { name: 'planes' });
  const { indices, shape } = windowRowIndices(height, width, kernel, c);
  const [outH, outW, blocks] = shape;
  const windows = outH * outW;
  // windowRowIndices is window major; Col2Im's columns are kernel-offset major.
  const byOffset = Array.from({ length: blocks * windows }, (_, i) => indices[(i % windows) * blocks + Math.floor(i / windows)]!);
  const gathered = gather(planes, image.graph.constant('int64', [blocks, windows], byOffset), 2, { name: 'image_windows' });
  return reshape(gathered, [0, channels * blocks, windows], { name: 'columns' });
}
