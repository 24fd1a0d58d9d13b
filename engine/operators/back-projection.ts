/**
 * Back-projected bicubic interpolation, super-resolution's starting estimate: interpolate y, then
 * add A^+ of what the interpolation misses, x = u + A^+ (y - A u), so that A x = y exactly.
 */
import type { LinearOperator } from '../types.js';
import { bicubicUpsample } from './bicubic-upsample.js';

export function backProjectedBicubic(op: LinearOperator, y: Float64Array, scale: number): Float64Array {
  const u = bicubicUpsample(y, op.outShape, scale);
  const au = op.forward(u);
  for (let i = 0; i < au.length; i++) au[i] = y[i] - au[i];
  const fix = op.pinv(au);
  for (let i = 0; i < u.length; i++) u[i] += fix[i];
  return u;
}
