/** Reading rendered charts back in tests: decode a PNG to RGBA pixels and count colors. */
import { createCanvas, loadImage } from '@napi-rs/canvas';

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type DecodedImage = { width: number; height: number; data: Uint8ClampedArray };

export async function decodePng(png: Uint8Array): Promise<DecodedImage> {
  const image = await loadImage(Buffer.from(png));
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, data: ctx.getImageData(0, 0, image.width, image.height).data };
}

export function rgbOf(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** Pixels within `tolerance` of `hex` in every channel. */
export function countNear(data: Uint8ClampedArray, hex: string, tolerance = 24): number {
  const [r, g, b] = rgbOf(hex);
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - r) <= tolerance && Math.abs(data[i + 1]! - g) <= tolerance && Math.abs(data[i + 2]! - b) <= tolerance) {
      count++;
    }
  }
  return count;
}
