/**
 * The boundary convention of every operator that looks past the image edge (blur, bicubic):
 * half-sample symmetric extension, x[-1] = x[0], x[-2] = x[1], x[n] = x[n-1]. This is numpy's and
 * MATLAB's 'symmetric' (scipy.ndimage calls it 'reflect'; numpy's 'reflect' is a different, whole-sample
 * mirror). Chosen because it is what MATLAB's imresize pads with, it never invents values, it is
 * defined for any n >= 1 and any overhang (the extension is 2n-periodic), and with a symmetric kernel it
 * makes the blur diagonal in the DCT-II basis.
 */
export function symmetricIndex(p: number, n: number): number {
  const period = 2 * n;
  const m = ((p % period) + period) % period;
  return m < n ? m : period - 1 - m;
}
