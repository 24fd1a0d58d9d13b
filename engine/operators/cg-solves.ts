/** pinv and normalSolve of any operator that has only forward and adjoint, by conjugate gradients. */
import { size, type LinearOperator } from '../types.js';
import { conjugateGradient, leastSquaresCg, type CgOptions } from './cg.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

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

/** (alpha A^T A + beta I)^-1 r; symmetric positive definite since beta > 0. */
export function normalSolveByCg(
  op: Forward,
  r: Float64Array,
  alpha: number,
  beta: number,
  options: CgOptions,
  precondition?: (v: Float64Array) => Float64Array,
): Float64Array {
  checkLength(r, size(op.inShape), 'normalSolve');
  checkNormalSolveWeights(alpha, beta);
  if (alpha === 0) return r.map((v) => v / beta);
  const apply = (v: Float64Array): Float64Array => {
    const out = op.adjoint(op.forward(v));
    for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + beta * v[i];
    return out;
  };
  return conjugateGradient(apply, r, options, precondition);
}
