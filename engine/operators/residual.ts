/**
 * r = beta (d - z) + alpha A^T (y - A d): minus the gradient in D of VML-MAP's loss, zero at its
 * stationary points (docs/ALGORITHM.md). Shared by the solver and the operators that compute the
 * Gauss-Newton step M^-1 r their own way.
 */
import type { LinearOperator } from '../types.js';

export function gaussNewtonResidual(op: Pick<LinearOperator, 'forward' | 'adjoint'>, d: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array {
  const ad = op.forward(d);
  const res = new Float64Array(ad.length);
  for (let i = 0; i < ad.length; i++) res[i] = y[i] - ad[i];
  const dataTerm = op.adjoint(res);
  const r = new Float64Array(d.length);
  for (let i = 0; i < r.length; i++) r[i] = (d[i] - z[i]) * beta + dataTerm[i] * alpha;
  return r;
}
