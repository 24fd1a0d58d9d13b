/** pinv and normalSolve of any operator that has only forward and adjoint, by conjugate gradients. */
import { size, type LinearOperator } from '../types.js';
import { conjugateGradient, leastSquaresCg, type CgOptions } from './cg.js';
import { checkLength, checkNormalSolveWeights } from '../operators/validate.js';

type Forward = Pick<LinearOperator, 'forward' | 'adjoint' | 'inShape' | 'outShape'>;

export function pinvByCg(op: Forward, y: Float64Array, options: CgOptions): Float64Array {
  checkLength(y, size(op.outShape), 'pinv');
  return leastSquaresCg(
    (v) => op.forward(v),
    (v) => op.adjoint(v),
    y,
    size(op.inShape),
    options,
  );
}

/**
 * (alpha A^T A + beta I)^-1 r; symmetric positive definite since beta > 0.
 *
 * When A has fewer rows than columns (downsampling), CG runs in the measurement space through
 * Woodbury's identity, (alpha A^T A + beta I)^-1 r = (r - alpha A^T (beta I + alpha A A^T)^-1 A r) / beta:
 * a smaller system whose conditioning is at worst that of A A^T, whatever alpha / beta is, and whose
 * vectors are scale^2 times shorter (measured: docs/ALGORITHM.md, under the table of M^-1).
 */
export function normalSolveByCg(op: Forward, r: Float64Array, alpha: number, beta: number, options: CgOptions, precondition?: (v: Float64Array) => Float64Array): Float64Array {
  checkLength(r, size(op.inShape), 'normalSolve');
  checkNormalSolveWeights(alpha, beta);
  if (alpha === 0) return r.map((v) => v / beta);
  if (!precondition && size(op.outShape) < size(op.inShape)) {
    const small = (u: Float64Array): Float64Array => {
      const out = op.forward(op.adjoint(u));
      for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + beta * u[i];
      return out;
    };
    const u = conjugateGradient(small, op.forward(r), options);
    const back = op.adjoint(u);
    return r.map((v, i) => (v - alpha * back[i]) / beta);
  }
  const apply = (v: Float64Array): Float64Array => {
    const out = op.adjoint(op.forward(v));
    for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + beta * v[i];
    return out;
  };
  return conjugateGradient(apply, r, options, precondition);
}
