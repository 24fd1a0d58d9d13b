/**
 * Closed forms for checking solvers: small dense linear algebra, the exact MAP under a Gaussian
 * prior, and the posterior modes of a diagonal Gaussian mixture (docs/ALGORITHM.md). Used by the
 * tests and by the convergence checks of toy-checks.ts.
 */
import type { LinearOperator } from '../../engine/types.js';

export type Mat = Float64Array[];

export function denseOf(op: LinearOperator): Mat {
  const n = op.inShape.c * op.inShape.h * op.inShape.w;
  const m = op.outShape.c * op.outShape.h * op.outShape.w;
  const A: Mat = Array.from({ length: m }, () => new Float64Array(n));
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = op.forward(e);
    for (let i = 0; i < m; i++) A[i][j] = col[i];
  }
  return A;
}

export function matvec(A: Mat, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(A.length);
  for (let i = 0; i < A.length; i++) {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += A[i][j] * x[j];
    out[i] = s;
  }
  return out;
}

export function transpose(A: Mat): Mat {
  const n = A[0].length;
  return Array.from({ length: n }, (_, j) => Float64Array.from(A, (row) => row[j]));
}

export function matmul(A: Mat, B: Mat): Mat {
  const n = B[0].length;
  return A.map((row) => {
    const out = new Float64Array(n);
    for (let k = 0; k < row.length; k++) {
      const a = row[k];
      if (a === 0) continue;
      const b = B[k];
      for (let j = 0; j < n; j++) out[j] += a * b[j];
    }
    return out;
  });
}

/** Solves S x = b for symmetric positive definite S by Cholesky. */
export function cholSolve(S: Mat, b: ArrayLike<number>): Float64Array {
  const n = S.length;
  const L: Mat = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = S[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (s <= 0) throw new Error('matrix is not positive definite');
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i][k] * z[k];
    z[i] = s / L[i][i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k][i] * x[k];
    x[i] = s / L[i][i];
  }
  return x;
}

export function inverse(S: Mat): Mat {
  const n = S.length;
  const cols = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return cholSolve(S, e);
  });
  return transpose(cols);
}

/** ||a - b|| / ||b|| (or ||a|| when b = 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}

export interface GaussPrior {
  shape: [number, number, number];
  mean: number[];
  cov: number[][];
}

export function closedFormMap(op: LinearOperator, prior: GaussPrior, y: Float64Array, sigmaY: number): Float64Array {
  const A = denseOf(op);
  const At = transpose(A);
  const Sinv = inverse(prior.cov.map((r) => Float64Array.from(r)));
  const AtA = matmul(At, A);
  const P = Sinv.map((row, i) => row.map((v, j) => v + AtA[i][j] / sigmaY ** 2));
  const rhs = matvec(Sinv, prior.mean).map((v, i) => v + matvec(At, y)[i] / sigmaY ** 2);
  return cholSolve(P, rhs);
}

export interface GmmPrior {
  shape: [number, number, number];
  weights: number[];
  means: number[][];
  vars: number[][];
}

/** Modes of the posterior of a diagonal GMM under a diagonal measurement, by fixed point from each mean. */
export function posteriorModes(p: GmmPrior, observed: number[], y: number[], sy: number) {
  const logPost = (x: number[]) => {
    let lik = 0;
    for (let i = 0; i < x.length; i++) if (observed[i]) lik -= (y[i] - x[i]) ** 2 / (2 * sy * sy);
    const comps = p.weights.map((w, k) => Math.log(w) + x.reduce((s, xi, i) => s - (xi - p.means[k][i]) ** 2 / (2 * p.vars[k][i]) - 0.5 * Math.log(2 * Math.PI * p.vars[k][i]), 0));
    const m = Math.max(...comps);
    return lik + m + Math.log(comps.reduce((s, c) => s + Math.exp(c - m), 0));
  };
  const modes = p.means.map((mu) => {
    const x = [...mu];
    for (let it = 0; it < 2000; it++) {
      // Fixed point of the stationarity condition: x = (sum_k r_k S_k^-1 + H^T H/sy^2)^-1 (sum_k r_k S_k^-1 mu_k + H^T y/sy^2).
      const comps = p.weights.map((w, k) => Math.log(w) + x.reduce((s, xi, i) => s - (xi - p.means[k][i]) ** 2 / (2 * p.vars[k][i]) - 0.5 * Math.log(p.vars[k][i]), 0));
      const m = Math.max(...comps);
      const r = comps.map((c) => Math.exp(c - m));
      const rs = r.reduce((a, b) => a + b, 0);
      for (let i = 0; i < x.length; i++) {
        let num = observed[i] ? y[i] / sy ** 2 : 0;
        let den = observed[i] ? 1 / sy ** 2 : 0;
        for (let k = 0; k < r.length; k++) {
          num += (r[k] / rs) * (p.means[k][i] / p.vars[k][i]);
          den += r[k] / rs / p.vars[k][i];
        }
        x[i] = num / den;
      }
    }
    return { x, logp: logPost(x) };
  });
  return modes.sort((a, b) => b.logp - a.logp);
}
