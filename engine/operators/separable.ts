/**
 * Rank-one kernels (every Gaussian) factor as a column times a row, so their 2-D convolution is two
 * 1-D passes: kh + kw multiply-adds per pixel instead of kh * kw. Under the symmetric boundary the
 * split is exact, because the padding itself is separable (row index and column index are extended
 * independently).
 */
import type { Kernel } from './kernels.js';

export interface KernelFactors {
  /** kh x 1 and 1 x kw kernels whose product is the kernel; their origins match the kernel's. */
  column: Kernel;
  row: Kernel;
}

export function rankOneFactors(k: Kernel, relTol = 1e-12): KernelFactors | null {
  if (k.h === 1 || k.w === 1) return null;
  let pivot = 0;
  for (let i = 1; i < k.data.length; i++) if (Math.abs(k.data[i]) > Math.abs(k.data[pivot])) pivot = i;
  const peak = k.data[pivot];
  if (peak === 0) return null;
  const a0 = Math.floor(pivot / k.w);
  const b0 = pivot % k.w;
  const column = Float64Array.from({ length: k.h }, (_, a) => k.data[a * k.w + b0]);
  const row = Float64Array.from({ length: k.w }, (_, b) => k.data[a0 * k.w + b] / peak);
  for (let a = 0; a < k.h; a++) {
    for (let b = 0; b < k.w; b++) {
      if (Math.abs(k.data[a * k.w + b] - column[a] * row[b]) > relTol * Math.abs(peak)) return null;
    }
  }
  return { column: { h: k.h, w: 1, data: column }, row: { h: 1, w: k.w, data: row } };
}
