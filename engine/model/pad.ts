/**
 * Padding to the model's size multiple, bottom and right, by symmetric reflection (edge pixel
 * repeated), with its exact adjoint: the VJP through "pad, network, crop" is P^T J^T C^T, so the
 * padded rows' gradients must be folded back onto the pixels they copy.
 */
import type { Shape } from '../types.js';

/** Source index for each position 0..padded-1 of a symmetric extension of 0..n-1. */
export function symmetricIndex(n: number, padded: number): Int32Array {
  const idx = new Int32Array(padded);
  const period = 2 * n;
  for (let i = 0; i < padded; i++) {
    const m = i % period;
    idx[i] = m < n ? m : period - 1 - m;
  }
  return idx;
}

export const roundUp = (n: number, multiple: number): number => Math.ceil(n / multiple) * multiple;

export function pad(x: Float64Array, s: Shape, H: number, W: number): Float64Array {
  if (H === s.h && W === s.w) return x;
  const ri = symmetricIndex(s.h, H);
  const ci = symmetricIndex(s.w, W);
  const out = new Float64Array(s.c * H * W);
  for (let c = 0; c < s.c; c++)
    for (let i = 0; i < H; i++) {
      const src = c * s.h * s.w + ri[i] * s.w;
      const dst = c * H * W + i * W;
      for (let j = 0; j < W; j++) out[dst + j] = x[src + ci[j]];
    }
  return out;
}

/** P^T: sums every padded position back onto its source pixel. */
export function padAdjoint(y: Float64Array, s: Shape, H: number, W: number): Float64Array {
  if (H === s.h && W === s.w) return y;
  const ri = symmetricIndex(s.h, H);
  const ci = symmetricIndex(s.w, W);
  const out = new Float64Array(s.c * s.h * s.w);
  for (let c = 0; c < s.c; c++)
    for (let i = 0; i < H; i++) {
      const dst = c * s.h * s.w + ri[i] * s.w;
      const src = c * H * W + i * W;
      for (let j = 0; j < W; j++) out[dst + ci[j]] += y[src + j];
    }
  return out;
}

/** Crop (the adjoint of zero-padding); C^T is zero-padding. */
export function crop(y: Float64Array, s: Shape, H: number, W: number): Float64Array {
  if (H === s.h && W === s.w) return y;
  const out = new Float64Array(s.c * s.h * s.w);
  for (let c = 0; c < s.c; c++) for (let i = 0; i < s.h; i++) out.set(y.subarray(c * H * W + i * W, c * H * W + i * W + s.w), c * s.h * s.w + i * s.w);
  return out;
}

export function zeroPad(x: Float64Array, s: Shape, H: number, W: number): Float64Array {
  if (H === s.h && W === s.w) return x;
  const out = new Float64Array(s.c * H * W);
  for (let c = 0; c < s.c; c++) for (let i = 0; i < s.h; i++) out.set(x.subarray(c * s.h * s.w + i * s.w, c * s.h * s.w + (i + 1) * s.w), c * H * W + i * W);
  return out;
}
