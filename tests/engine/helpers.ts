/** Small numerical helpers for the engine tests: seeded random data and dense linear algebra. */
import type { Img, LinearOperator, Shape } from '../../engine/types.js';

/** Deterministic uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal values (Box-Muller). */
export function randn(n: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export { relErr } from '../oracles/closed-form.js';

/** A dense m x n matrix, row-major. */
export interface Dense {
  m: number;
  n: number;
  data: Float64Array;
}

/** The matrix of an operator, column j = A e_j. */
export function denseOf(op: Pick<LinearOperator, 'forward' | 'inShape' | 'outShape'>): Dense {
  const n = op.inShape.c * op.inShape.h * op.inShape.w;
  const m = op.outShape.c * op.outShape.h * op.outShape.w;
  const data = new Float64Array(m * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = op.forward(e);
    for (let i = 0; i < m; i++) data[i * n + j] = col[i];
  }
  return { m, n, data };
}

/** alpha A^T A + beta I. */
export function normalMatrix(a: Dense, alpha: number, beta: number): Dense {
  const { m, n } = a;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += a.data[k * n + i] * a.data[k * n + j];
      data[i * n + j] = data[j * n + i] = alpha * s + (i === j ? beta : 0);
    }
  }
  return { m: n, n, data };
}

/** Solves S x = b for a symmetric positive definite S by Cholesky. */
export function choleskySolve(s: Dense, b: Float64Array): Float64Array {
  const n = s.n;
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = s.data[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] ** 2;
    if (!(d > 0)) throw new Error('choleskySolve: matrix is not positive definite');
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = s.data[i * n + j];
      for (let k = 0; k < j; k++) v -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = v / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = b[i];
    for (let k = 0; k < i; k++) v -= l[i * n + k] * y[k];
    y[i] = v / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let v = y[i];
    for (let k = i + 1; k < n; k++) v -= l[k * n + i] * x[k];
    x[i] = v / l[i * n + i];
  }
  return x;
}

/** Number of values of an image of this shape. */
export const sizeOf = (s: Shape): number => s.c * s.h * s.w;

/** An observed-weights mask (1 = observed) with about `observed` of the pixels kept. */
export function randomMask(h: number, w: number, seed: number, observed = 0.6): Float64Array {
  const u = rng(seed);
  return Float64Array.from({ length: h * w }, () => (u() < observed ? 1 : 0));
}

/**
 * Discs, bars and a slanted edge on a shaded ground, each pixel the mean of 4 x 4 samples (as a
 * sensor integrates): edges of many directions and contrasts.
 */
export function edgeScene(h: number, w: number): Img {
  const S = 4;
  const data = new Float64Array(3 * h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let i = 0; i < S; i++)
        for (let j = 0; j < S; j++) {
          const yy = y + (i + 0.5) / S;
          const xx = x + (j + 0.5) / S;
          let v = 0.3 + (0.1 * xx) / w;
          if ((xx - 0.28 * w) ** 2 + (yy - 0.3 * h) ** 2 < (0.16 * h) ** 2) v = 0.75;
          if ((xx - 0.72 * w) ** 2 + (yy - 0.7 * h) ** 2 < (0.14 * h) ** 2) v = 0.15;
          if (xx > 0.55 * w && xx < 0.9 * w && yy > 0.12 * h && yy < 0.38 * h) v = 0.6;
          if (0.35 * xx + yy > 0.95 * h && xx < 0.45 * w) v = 0.55;
          sum += v;
        }
      for (let c = 0; c < 3; c++) data[(c * h + y) * w + x] = sum / (S * S) - 0.05 * c;
    }
  return { c: 3, h, w, data };
}
