/** A photo's alpha channel carried over to its restored result (the CLI and the app share this). */
import type { Shape } from '../types.js';

/** Nearest-neighbour upscale of an alpha plane by an integer factor (super-resolution results). */
export function upscaleAlpha(alpha: Float64Array, w: number, h: number, k: number): Float64Array {
  const W = w * k;
  const out = new Float64Array(W * h * k);
  for (let y = 0; y < h * k; y++) {
    const src = Math.floor(y / k) * w;
    for (let x = 0; x < W; x++) out[y * W + x] = alpha[src + Math.floor(x / k)]!;
  }
  return out;
}

/** The input's alpha at the output's size: as is, or upscaled with the image for super-resolution. */
export function resultAlpha(alpha: Float64Array, input: Shape, output: Shape): Float64Array | undefined {
  if (output.w === input.w && output.h === input.h) return alpha;
  const k = output.w / input.w;
  return Number.isInteger(k) && output.h === input.h * k ? upscaleAlpha(alpha, input.w, input.h, k) : undefined;
}
