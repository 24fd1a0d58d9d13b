/** Image quality metrics on [0, 1] images (data range 1), as in scikit-image's defaults. */
import type { Img } from './types.js';

export function psnr(a: Float64Array, b: Float64Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.min(Math.max(a[i], 0), 1) - Math.min(Math.max(b[i], 0), 1);
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

function gaussianWindow(radius: number, sigma: number): Float64Array {
  const w = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) s += w[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return w;
}

/** Separable filtering over the 'valid' region (no padding), as SSIM's usual implementation. */
function filterValid(x: Float64Array, h: number, w: number, k: Float64Array): { out: Float64Array; h: number; w: number } {
  const r = k.length;
  const w1 = w - r + 1;
  const h1 = h - r + 1;
  const tmp = new Float64Array(h * w1);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w1; j++) {
      let s = 0;
      for (let t = 0; t < r; t++) s += k[t] * x[i * w + j + t];
      tmp[i * w1 + j] = s;
    }
  const out = new Float64Array(h1 * w1);
  for (let i = 0; i < h1; i++)
    for (let j = 0; j < w1; j++) {
      let s = 0;
      for (let t = 0; t < r; t++) s += k[t] * tmp[(i + t) * w1 + j];
      out[i * w1 + j] = s;
    }
  return { out, h: h1, w: w1 };
}

/** Mean SSIM over channels: Gaussian window sigma 1.5 (11 taps), K1 0.01, K2 0.03, data range 1. */
export function ssim(a: Img, b: Img): number {
  const k = gaussianWindow(5, 1.5);
  if (a.h < k.length || a.w < k.length) return NaN;
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const n = a.h * a.w;
  let total = 0;
  for (let c = 0; c < a.c; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.min(Math.max(a.data[c * n + i], 0), 1);
      y[i] = Math.min(Math.max(b.data[c * n + i], 0), 1);
    }
    const xx = x.map((v) => v * v);
    const yy = y.map((v) => v * v);
    const xy = x.map((v, i) => v * y[i]);
    const mx = filterValid(x, a.h, a.w, k);
    const my = filterValid(y, a.h, a.w, k).out;
    const sxx = filterValid(xx, a.h, a.w, k).out;
    const syy = filterValid(yy, a.h, a.w, k).out;
    const sxy = filterValid(xy, a.h, a.w, k).out;
    let s = 0;
    for (let i = 0; i < mx.out.length; i++) {
      const ux = mx.out[i];
      const uy = my[i];
      const vx = sxx[i] - ux * ux;
      const vy = syy[i] - uy * uy;
      const cxy = sxy[i] - ux * uy;
      s += ((2 * ux * uy + C1) * (2 * cxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
    total += s / mx.out.length;
  }
  return total / a.c;
}

/** 1 at every pixel within 1 px (3x3) of a marked one. */
export function nearMarked(m: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!m[y * w + x]) continue;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) out[yy * w + xx] = 1;
    }
  return out;
}

export interface DetectionScore {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * A detected mask against the true one (h*w, 1 = marked), forgiving one pixel: a detected pixel
 * within 1 px of a true one is a hit, a true pixel within 1 px of a detected one is found.
 */
export function tolerantF1(truth: Uint8Array, detected: Uint8Array, h: number, w: number): DetectionScore {
  const nearTruth = nearMarked(truth, h, w);
  const nearDetected = nearMarked(detected, h, w);
  let d = 0;
  let hits = 0;
  let t = 0;
  let found = 0;
  for (let p = 0; p < h * w; p++) {
    if (detected[p]) {
      d++;
      if (nearTruth[p]) hits++;
    }
    if (truth[p]) {
      t++;
      if (nearDetected[p]) found++;
    }
  }
  const precision = d ? hits / d : 1;
  const recall = t ? found / t : 1;
  return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}
