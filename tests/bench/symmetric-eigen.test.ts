/**
 * The Jacobi eigenvalue routine the noise-level study's PCA candidates use: matrices built as
 * Q diag(lambda) Q^T from an orthogonal Q give back lambda, in ascending order, to rounding.
 */
import { describe, expect, it } from 'vitest';
import { symmetricEigenvalues } from '../../bench/symmetric-eigen.js';
import { randn } from '../engine/helpers.js';

/** Q diag(lambda) Q^T with Q the product of two Householder reflections of random vectors. */
function withEigenvalues(lambda: number[], seed: number): Float64Array {
  const n = lambda.length;
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (const s of [seed, seed + 1]) {
    const v = randn(n, s);
    const vv = v.reduce((a, b) => a + b * b, 0);
    // q <- q (I - 2 v v^T / v^T v)
    for (let i = 0; i < n; i++) {
      let qv = 0;
      for (let k = 0; k < n; k++) qv += q[i * n + k] * v[k];
      for (let j = 0; j < n; j++) q[i * n + j] -= (2 * qv * v[j]) / vv;
    }
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q[i * n + k] * lambda[k] * q[j * n + k];
  return a;
}

describe('symmetricEigenvalues', () => {
  it('recovers known eigenvalues, repeated and negative ones included, in ascending order', () => {
    const lambda = [3, -1.5, 0, 7, 3, 1e-4, 2.25, -1.5];
    const got = symmetricEigenvalues(withEigenvalues(lambda, 11), lambda.length);
    const want = [...lambda].sort((a, b) => a - b);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 12);
  });

  it('handles the 49x49 size of the study, and leaves its input as it was', () => {
    const lambda = Array.from({ length: 49 }, (_, i) => (i < 40 ? 1e-4 * (1 + 0.01 * i) : 10 ** (i - 45)));
    const a = withEigenvalues(lambda, 3);
    const copy = Float64Array.from(a);
    const got = symmetricEigenvalues(a, 49);
    const want = [...lambda].sort((x, y) => x - y);
    for (let i = 0; i < 49; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-12 * want[48]);
    expect(a).toEqual(copy);
  });
});
