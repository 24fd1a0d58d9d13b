/**
 * Closed-form solves for blurs whose kernel is mirror symmetric along each axis (every Gaussian,
 * axis-aligned motion). Under the half-sample symmetric boundary such a blur is diagonal in the 2-D
 * DCT-II basis (Ng, Chan and Tang, 1999): the symmetric extension is 2h x 2w periodic and these
 * cosines are its even Fourier modes, so cos(pi k1 (2i + 1) / 2h) cos(pi k2 (2j + 1) / 2w) is an
 * eigenvector with eigenvalue
 *   K(k1, k2) = sum_ab k[a, b] cos(pi k1 (a - ca) / h) cos(pi k2 (b - cb) / w).
 * Then A^T A = A^2 is diagonal too, and any spectral function g(A^T A) is transform, gain g(K^2),
 * inverse transform: normalSolve is g(p) = 1 / (alpha p + beta), A^+ is g(p) = 1 / p applied to A^T y.
 *
 * For other kernels no such basis exists. Fourier preconditioners built the same way were measured
 * and rejected for conjugate gradients on a 30-degree motion blur, 37x31 and 128x128 at alpha/beta
 * 1e3: this one symmetrised (the iterations rose from ~330 to ~580, because a frequency the kernel
 * erases in one direction looks half observed), and a periodic one (no better than none, because of
 * the boundary band).
 */
import { dctPlan } from '../linalg/dct.js';
import type { Kernel } from './kernels.js';

export class DctSpectrum {
  /** K(k1, k2)^2, h x w. */
  readonly power: Float64Array;
  readonly maxPower: number;

  constructor(
    readonly h: number,
    readonly w: number,
    kernel: Kernel,
  ) {
    const ca = kernel.h >> 1;
    const cb = kernel.w >> 1;
    // The cosine sum is separable: first over each kernel row's columns, then over the rows.
    const partial = new Float64Array(kernel.h * w);
    for (let a = 0; a < kernel.h; a++) {
      for (let k2 = 0; k2 < w; k2++) {
        let s = 0;
        for (let b = 0; b < kernel.w; b++) s += kernel.data[a * kernel.w + b] * Math.cos((Math.PI * k2 * (b - cb)) / w);
        partial[a * w + k2] = s;
      }
    }
    this.power = new Float64Array(h * w);
    let max = 0;
    for (let k1 = 0; k1 < h; k1++) {
      for (let a = 0; a < kernel.h; a++) {
        const c = Math.cos((Math.PI * k1 * (a - ca)) / h);
        for (let k2 = 0; k2 < w; k2++) this.power[k1 * w + k2] += c * partial[a * w + k2];
      }
      for (let k2 = 0; k2 < w; k2++) {
        const p = this.power[k1 * w + k2] ** 2;
        this.power[k1 * w + k2] = p;
        max = Math.max(max, p);
      }
    }
    this.maxPower = max;
  }

  /** g(A^T A) r, on each h x w plane of r. */
  filter(r: Float64Array, g: (power: number) => number): Float64Array {
    const gain = this.power.map(g);
    const out = Float64Array.from(r);
    this.transform(out, false);
    const hw = this.h * this.w;
    for (let base = 0; base < out.length; base += hw) {
      for (let k = 0; k < hw; k++) out[base + k] *= gain[k];
    }
    this.transform(out, true);
    return out;
  }

  /**
   * The 2-D DCT-II (or its inverse) of every h x w plane of x, in place. Rows and columns go through
   * the FFT two at a time (dct.ts forwardPair): the solvers call this on every step.
   */
  transform(x: Float64Array, inverse: boolean): void {
    const { h, w } = this;
    const rows = dctPlan(w);
    const cols = dctPlan(h);
    const one = inverse ? rows.inverse : rows.forward;
    const two = inverse ? rows.inversePair : rows.forwardPair;
    const oneCol = inverse ? cols.inverse : cols.forward;
    const twoCol = inverse ? cols.inversePair : cols.forwardPair;
    const ca = new Float64Array(h);
    const cb = new Float64Array(h);
    const hw = h * w;
    for (let base = 0; base < x.length; base += hw) {
      const plane = x.subarray(base, base + hw);
      let i = 0;
      for (; i + 1 < h; i += 2) two(plane.subarray(i * w, (i + 1) * w), plane.subarray((i + 1) * w, (i + 2) * w));
      if (i < h) one(plane.subarray(i * w, (i + 1) * w));
      let j = 0;
      for (; j + 1 < w; j += 2) {
        for (let r = 0; r < h; r++) {
          ca[r] = plane[r * w + j];
          cb[r] = plane[r * w + j + 1];
        }
        twoCol(ca, cb);
        for (let r = 0; r < h; r++) {
          plane[r * w + j] = ca[r];
          plane[r * w + j + 1] = cb[r];
        }
      }
      if (j < w) {
        for (let r = 0; r < h; r++) ca[r] = plane[r * w + j];
        oneCol(ca);
        for (let r = 0; r < h; r++) plane[r * w + j] = ca[r];
      }
    }
  }
}

/** k[ca + d, .] = k[ca - d, .] and k[., cb + d] = k[., cb - d] for every d: odd sides, mirror symmetric. */
export function axisSymmetric(k: Kernel, relTol = 1e-12): boolean {
  if (k.h % 2 === 0 || k.w % 2 === 0) return false;
  let peak = 0;
  for (const v of k.data) peak = Math.max(peak, Math.abs(v));
  const at = (a: number, b: number): number => k.data[a * k.w + b];
  for (let a = 0; a < k.h; a++) {
    for (let b = 0; b < k.w; b++) {
      const v = at(a, b);
      if (Math.abs(v - at(k.h - 1 - a, b)) > relTol * peak || Math.abs(v - at(a, k.w - 1 - b)) > relTol * peak) {
        return false;
      }
    }
  }
  return true;
}
