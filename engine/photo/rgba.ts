/**
 * Bridges to the browser's 8-bit RGBA (canvas ImageData) for previews in the app. Previews only:
 * 8 bits lose the precision of 16-bit images, so results are saved with writeImage instead.
 */
import type { Img } from '../types.js';
import { deinterleave, interleave } from './pixels.js';

/** Interleaved RGBA for ImageData: grey is replicated, no alpha means opaque, NaN shows black. */
export function toRgba8(img: Img, alpha?: Float64Array): Uint8ClampedArray {
  const pixels = img.h * img.w;
  if ((img.c !== 1 && img.c !== 3) || img.data.length !== img.c * pixels) {
    throw new Error(`toRgba8: bad image shape ${img.c}x${img.h}x${img.w}`);
  }
  if (alpha && alpha.length !== pixels) throw new Error('toRgba8: alpha has the wrong length');
  const rgb = img.c === 3 ? img.data : replicate(img.data, pixels);
  // A NaN sample rounds to NaN, which typed arrays store as 0: a live preview never throws.
  const out = new Uint8ClampedArray(pixels * 4);
  return interleave(out, rgb, 3, pixels, alpha ?? opaque(pixels), 255);
}

/** The inverse, e.g. for a mask painted on a canvas; alpha is left out when all is opaque. */
export function fromRgba8(data: Uint8ClampedArray | Uint8Array, width: number, height: number): { image: Img; alpha?: Float64Array } {
  const { planes, alpha } = deinterleave(data, width * height, 4, 3, 255);
  const image: Img = { c: 3, h: height, w: width, data: planes };
  return alpha && alpha.some((a) => a < 1) ? { image, alpha } : { image };
}

function replicate(grey: Float64Array, pixels: number): Float64Array {
  const rgb = new Float64Array(3 * pixels);
  rgb.set(grey, 0);
  rgb.set(grey, pixels);
  rgb.set(grey, 2 * pixels);
  return rgb;
}

const opaque = (pixels: number): Float64Array => new Float64Array(pixels).fill(1);
