/**
 * Bicubic interpolation by an integer factor (Keys' kernel, a = -0.5; pixel centres aligned, edge
 * pixels repeated beyond the border), separable. The interpolation half of super-resolution's
 * starting estimate; the operator's pinv then makes it consistent with y (back-projection).
 */
import type { Shape } from '../types.js';

function keys(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** For each output index, the 4 input taps and their weights. */
function taps(n: number, s: number): { index: Int32Array; weight: Float64Array } {
  const index = new Int32Array(4 * n * s);
  const weight = new Float64Array(4 * n * s);
  for (let i = 0; i < n * s; i++) {
    const u = (i + 0.5) / s - 0.5;
    const f = Math.floor(u);
    for (let k = 0; k < 4; k++) {
      const j = f - 1 + k;
      index[4 * i + k] = Math.min(n - 1, Math.max(0, j));
      weight[4 * i + k] = keys(u - j);
    }
  }
  return { index, weight };
}

/** x (shape `low`, planar) interpolated to (c, h*s, w*s). */
export function bicubicUpsample(x: Float64Array, low: Shape, s: number): Float64Array {
  const { c, h, w } = low;
  const H = h * s;
  const W = w * s;
  const tx = taps(w, s);
  const ty = taps(h, s);
  const rows = new Float64Array(h * W);
  const out = new Float64Array(c * H * W);
  for (let ch = 0; ch < c; ch++) {
    const src = ch * h * w;
    for (let i = 0; i < h; i++)
      for (let j = 0; j < W; j++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += tx.weight[4 * j + k] * x[src + i * w + tx.index[4 * j + k]];
        rows[i * W + j] = v;
      }
    const dst = ch * H * W;
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += ty.weight[4 * i + k] * rows[ty.index[4 * i + k] * W + j];
        out[dst + i * W + j] = v;
      }
  }
  return out;
}
