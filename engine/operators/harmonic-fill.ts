/**
 * Harmonic fill: the missing pixels of a masked image solve Laplace's equation with the observed
 * pixels fixed (Dirichlet) and a reflecting image border (Neumann), channel by channel. The
 * smoothest image consistent with the observed pixels, and the start of an inpainting solve
 * (docs/ALGORITHM.md, "Starting estimates").
 *
 * Solved by conjugate gradients on the missing pixels only, from a push-pull fill (a coarse-to-fine
 * average of the observed neighbours) so that large holes need few iterations.
 */
import { conjugateGradient } from '../linalg/cg.js';

/**
 * values: c planes of h*w; known: h*w, true where the pixel is observed. Returns a copy of values
 * with every unknown pixel filled. With no known pixel at all the image is filled with 0.5 (no
 * information; mid-grey).
 */
export function harmonicFill(values: Float64Array, known: Uint8Array, c: number, h: number, w: number, tol = 1e-6): Float64Array {
  const hw = h * w;
  const out = Float64Array.from(values);
  const unknown: number[] = [];
  for (let p = 0; p < hw; p++) if (!known[p]) unknown.push(p);
  if (unknown.length === 0) return out;
  if (unknown.length === hw) return out.fill(0.5);
  const index = new Int32Array(hw).fill(-1);
  unknown.forEach((p, i) => (index[p] = i));
  const m = unknown.length;
  // Degree of each unknown pixel (neighbours inside the image) and its neighbour lists.
  const degree = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const p = unknown[i];
    const y = Math.floor(p / w);
    const x = p - y * w;
    degree[i] = (y > 0 ? 1 : 0) + (y < h - 1 ? 1 : 0) + (x > 0 ? 1 : 0) + (x < w - 1 ? 1 : 0);
  }
  const forEachNeighbour = (p: number, f: (q: number) => void): void => {
    const y = Math.floor(p / w);
    const x = p - y * w;
    if (y > 0) f(p - w);
    if (y < h - 1) f(p + w);
    if (x > 0) f(p - 1);
    if (x < w - 1) f(p + 1);
  };
  // L u = b on the unknowns: L = degree - adjacency among unknowns, b = sum of known neighbours.
  const apply = (u: Float64Array): Float64Array => {
    const r = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = degree[i] * u[i];
      forEachNeighbour(unknown[i], (q) => {
        const j = index[q];
        if (j >= 0) s -= u[j];
      });
      r[i] = s;
    }
    return r;
  };
  const jacobi = (r: Float64Array): Float64Array => r.map((v, i) => v / degree[i]);
  for (let ch = 0; ch < c; ch++) {
    const plane = out.subarray(ch * hw, (ch + 1) * hw);
    const guess = pushPull(plane, known, h, w);
    const b = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      forEachNeighbour(unknown[i], (q) => {
        if (index[q] < 0) s += plane[q];
      });
      b[i] = s;
    }
    // Solve for the correction to the push-pull guess: L d = b - L u0.
    const u0 = Float64Array.from(unknown, (p) => guess[p]);
    const lu0 = apply(u0);
    const rhs = b.map((v, i) => v - lu0[i]);
    const d = conjugateGradient(apply, rhs, { tol: tol * Math.max(1, norm(b) / Math.max(norm(rhs), 1e-300)), maxIter: 4 * Math.ceil(Math.sqrt(m)) + 50 }, jacobi);
    for (let i = 0; i < m; i++) plane[unknown[i]] = u0[i] + d[i];
  }
  return out;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * Push-pull fill: average the known pixels down a pyramid of 2x2 blocks until every block has some,
 * then pull the coarse values back up into the unknown pixels. A cheap, smooth first guess.
 */
function pushPull(plane: Float64Array, known: Uint8Array, h: number, w: number): Float64Array {
  const sum = new Float64Array(h * w);
  const weight = new Float64Array(h * w);
  for (let p = 0; p < h * w; p++)
    if (known[p]) {
      sum[p] = plane[p];
      weight[p] = 1;
    }
  return pull(sum, weight, h, w);
}

function pull(sum: Float64Array, weight: Float64Array, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  let missing = false;
  for (let p = 0; p < h * w; p++) {
    if (weight[p] > 0) out[p] = sum[p] / weight[p];
    else missing = true;
  }
  if (!missing) return out;
  if (h === 1 && w === 1) return out.fill(0.5);
  const h2 = Math.ceil(h / 2);
  const w2 = Math.ceil(w / 2);
  const s2 = new Float64Array(h2 * w2);
  const wt2 = new Float64Array(h2 * w2);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const q = (y >> 1) * w2 + (x >> 1);
      s2[q] += sum[y * w + x];
      wt2[q] += weight[y * w + x];
    }
  const coarse = pull(s2, wt2, h2, w2);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (!(weight[y * w + x] > 0)) out[y * w + x] = coarse[(y >> 1) * w2 + (x >> 1)];
  return out;
}
