/**
 * Display copies of engine images: 8-bit RGBA, shrunk by whole-pixel box averaging when they are
 * larger than the renderer needs. Previews are shown small and often, so shrinking them keeps the
 * IPC traffic and the renderer's work per step low; exports never use these copies.
 */
import { toRgba8 } from './rgba.js';
import type { Img } from '../types.js';
import type { RgbaImage } from '../../common/api.js';

/** Integer factor that brings the image within both limits (1 = unchanged). */
export function shrinkFactor(w: number, h: number, maxSide: number, maxPixels = Infinity): number {
  let f = Math.max(1, Math.ceil(Math.max(w, h) / maxSide));
  while ((w / f) * (h / f) > maxPixels) f++;
  return f;
}

export function boxShrink(img: Img, f: number): Img {
  if (f <= 1) return img;
  const w = Math.floor(img.w / f) || 1;
  const h = Math.floor(img.h / f) || 1;
  const out = new Float64Array(img.c * w * h);
  for (let c = 0; c < img.c; c++) {
    const src = c * img.h * img.w;
    const dst = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        let n = 0;
        for (let dy = 0; dy < f && y * f + dy < img.h; dy++) {
          const row = src + (y * f + dy) * img.w;
          for (let dx = 0; dx < f && x * f + dx < img.w; dx++) {
            sum += img.data[row + x * f + dx]!;
            n++;
          }
        }
        out[dst + y * w + x] = sum / n;
      }
    }
  }
  return { c: img.c, h, w, data: out };
}

export function toDisplay(img: Img, maxSide: number, maxPixels = Infinity, alpha?: Float64Array): RgbaImage {
  const f = shrinkFactor(img.w, img.h, maxSide, maxPixels);
  const small = boxShrink(img, f);
  const a = alpha && f === 1 ? alpha : undefined;
  return { width: small.w, height: small.h, data: toRgba8(small, a) };
}
