/**
 * Conjugate gradients, the fallback behind every pinv and normalSolve without a closed form.
 * Both solvers start at 0: for the least-squares one this keeps every iterate in range(A^T), so the
 * limit is the minimum-norm solution, i.e. A^+ y.
 */
import { dot } from './vector.js';

export interface CgOptions {
  /** Stop once the residual is at most tol times the right-hand side (relative 2-norm). */
  tol?: number;
  maxIter?: number;
  /** Told the outcome of every solve; for benchmarks and tests, never needed for correctness. */
  onSolve?: (stats: CgStats) => void;
}

export interface CgStats {
  iterations: number;
  /** Final residual relative to the right-hand side, of the system that was solved. */
  relResidual: number;
  converged: boolean;
}

export const CG_DEFAULTS = { tol: 1e-6, maxIter: 500 } as const;

type Apply = (v: Float64Array) => Float64Array;

/**
 * Solves M x = b for a symmetric positive (semi)definite M given as a function, optionally with a
 * symmetric positive definite preconditioner P ~ M^-1. On a semidefinite M with b in its range the
 * iterates stay in that range; a direction of zero curvature ends the solve instead of dividing by 0.
 */
export function conjugateGradient(apply: Apply, b: Float64Array, options: CgOptions = {}, precondition?: Apply): Float64Array {
  const tol = options.tol ?? CG_DEFAULTS.tol;
  const maxIter = options.maxIter ?? CG_DEFAULTS.maxIter;
  const n = b.length;
  const x = new Float64Array(n);
  const bNorm = Math.sqrt(dot(b, b));
  const stats: CgStats = { iterations: 0, relResidual: 0, converged: true };
  if (bNorm === 0) {
    options.onSolve?.(stats);
    return x;
  }
  const r = Float64Array.from(b);
  let z = precondition ? precondition(r) : r;
  const p = Float64Array.from(z);
  let rz = dot(r, z);
  let rNorm = bNorm;
  let k = 0;
  while (k < maxIter && rNorm > tol * bNorm) {
    const q = apply(p);
    const curvature = dot(p, q);
    if (!(curvature > 0)) break;
    const step = rz / curvature;
    for (let i = 0; i < n; i++) {
      x[i] += step * p[i];
      r[i] -= step * q[i];
    }
    k++;
    rNorm = Math.sqrt(dot(r, r));
    if (rNorm <= tol * bNorm) break;
    z = precondition ? precondition(r) : r;
    const rzNext = dot(r, z);
    const ratio = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < n; i++) p[i] = z[i] + ratio * p[i];
  }
  stats.iterations = k;
  stats.relResidual = rNorm / bNorm;
  stats.converged = rNorm <= tol * bNorm;
  options.onSolve?.(stats);
  return x;
}

/**
 * Minimum-norm least squares, x = A^+ y, by CGLS (conjugate gradients on A^T A x = A^T y, arranged so
 * that A^T A is never formed). Stops when either the data residual ||y - A x|| (consistent systems)
 * or the normal-equations residual ||A^T (y - A x)|| (inconsistent ones) falls below tol relative to
 * its starting value. Iterating on an ill-posed A (a Gaussian blur) regularises by early stopping:
 * tighter tolerances chase directions the operator all but annihilates.
 */
export function leastSquaresCg(forward: Apply, adjoint: Apply, y: Float64Array, nIn: number, options: CgOptions = {}): Float64Array {
  const tol = options.tol ?? CG_DEFAULTS.tol;
  const maxIter = options.maxIter ?? CG_DEFAULTS.maxIter;
  const x = new Float64Array(nIn);
  const r = Float64Array.from(y);
  const yNorm = Math.sqrt(dot(y, y));
  let s = adjoint(r);
  let gamma = dot(s, s);
  const sNorm0 = Math.sqrt(gamma);
  const stats: CgStats = { iterations: 0, relResidual: 0, converged: true };
  if (sNorm0 === 0) {
    options.onSolve?.(stats);
    return x;
  }
  const p = Float64Array.from(s);
  let rNorm = yNorm;
  let sNorm = sNorm0;
  let k = 0;
  const done = (): boolean => rNorm <= tol * yNorm || sNorm <= tol * sNorm0;
  while (k < maxIter && !done()) {
    const q = forward(p);
    const delta = dot(q, q);
    if (!(delta > 0)) break;
    const step = gamma / delta;
    for (let i = 0; i < nIn; i++) x[i] += step * p[i];
    for (let i = 0; i < r.length; i++) r[i] -= step * q[i];
    k++;
    s = adjoint(r);
    const gammaNext = dot(s, s);
    rNorm = Math.sqrt(dot(r, r));
    sNorm = Math.sqrt(gammaNext);
    if (done()) break;
    const ratio = gammaNext / gamma;
    gamma = gammaNext;
    for (let i = 0; i < nIn; i++) p[i] = s[i] + ratio * p[i];
  }
  stats.iterations = k;
  stats.relResidual = Math.min(rNorm / yNorm, sNorm / sNorm0);
  stats.converged = done();
  options.onSolve?.(stats);
  return x;
}
