/**
 * A small copy of a display image for the history list: each thumbnail pixel is the mean of the
 * source pixels its box covers (area averaging, so a thin scratch fades rather than vanishes).
 */
import type { RgbaImage } from '../../common/api';

/** Longest side of a history thumbnail, in pixels (at most 96 x 96 x 4 bytes = 36 KB each). */
export const THUMB_SIDE = 96;

export function thumbnail(src: RgbaImage, side = THUMB_SIDE): RgbaImage {
  const k = Math.min(1, side / Math.max(src.width, src.height));
  const width = Math.max(1, Math.round(src.width * k));
  const height = Math.max(1, Math.round(src.height * k));
  const data = new Uint8ClampedArray(4 * width * height);
  for (let ty = 0; ty < height; ty++) {
    const y0 = Math.floor((ty * src.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * src.height) / height));
    for (let tx = 0; tx < width; tx++) {
      const x0 = Math.floor((tx * src.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * src.width) / width));
      const sum = [0, 0, 0, 0];
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = 4 * (y * src.width + x);
          for (let c = 0; c < 4; c++) sum[c]! += src.data[i + c]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = 4 * (ty * width + tx);
      for (let c = 0; c < 4; c++) data[o + c] = Math.round(sum[c]! / n);
    }
  }
  return { width, height, data };
}
