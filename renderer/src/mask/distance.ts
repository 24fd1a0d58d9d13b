/**
 * Exact squared Euclidean distances on the pixel grid (Felzenszwalb and Huttenlocher, "Distance
 * transforms of sampled functions", 2012): a pass down each column, then along each row, each the
 * lower envelope of parabolas. Linear in the number of pixels whatever the distances, which is what
 * lets grow, shrink and feather take large N on a large photo.
 */
import type { Rect } from './rect';

/** A squared distance larger than any on a grid of at most 2^26 pixels a side: "no seed". */
export const FAR = 2 ** 60;

/**
 * Squared distance from each pixel of `rect` (a part of a plane `w` wide) to the nearest pixel of
 * `rect` where `seed(index in the plane)` holds; FAR where `rect` holds no seed. Distances are
 * between pixel centres, so they are whole numbers dx^2 + dy^2. Returns rect.w * rect.h values, row
 * by row.
 */
export function squaredDistances(w: number, rect: Rect, seed: (i: number) => boolean): Float64Array {
  const { x: x0, y: y0, w: rw, h: rh } = rect;
  const out = new Float64Array(rw * rh);
  const n = Math.max(rw, rh);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  // Down each column: 0 at seeds, FAR elsewhere.
  for (let x = 0; x < rw; x++) {
    for (let y = 0; y < rh; y++) f[y] = seed((y0 + y) * w + x0 + x) ? 0 : FAR;
    envelope(f, d, rh, v, z);
    for (let y = 0; y < rh; y++) out[y * rw + x] = d[y]!;
  }
  // Along each row, over the columns' results.
  for (let y = 0; y < rh; y++) {
    const row = y * rw;
    for (let x = 0; x < rw; x++) f[x] = out[row + x]!;
    envelope(f, d, rw, v, z);
    for (let x = 0; x < rw; x++) out[row + x] = d[x]!;
  }
  return out;
}

/**
 * d[q] = min over p of (q - p)^2 + f[p], for q < n. Samples at FAR take no part (they would only
 * add rounding error); with none left, every d is FAR.
 */
function envelope(f: Float64Array, d: Float64Array, n: number, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq >= FAR) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s = (fq + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * (q - v[k]!));
    while (s <= z[k]!) {
      k--;
      s = (fq + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * (q - v[k]!));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    d.fill(FAR, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[q] = (q - p) * (q - p) + f[p]!;
  }
}
