/**
 * Eigenvalues of a small real symmetric matrix by the cyclic Jacobi method: plane rotations that
 * zero one off-diagonal entry at a time, sweeping all pairs until the off-diagonal part is
 * negligible. Slow for large n (O(n^3) per sweep) but simple, exact to rounding and deterministic,
 * which is all the patch-PCA noise estimators of bench/studies/noise-level.ts need (49x49).
 */

/**
 * The eigenvalues of the symmetric n x n matrix `a` (row-major; only symmetric input is
 * meaningful, the upper triangle is trusted), in ascending order. `a` is not modified.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`symmetricEigenvalues: expected ${n * n} entries, got ${a.length}`);
  const m = Float64Array.from(a);
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += m[i] * m[i];
  // Jacobi converges quadratically once near diagonal; 50 sweeps is far beyond what n <= 100 needs.
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        // The smaller rotation angle (|t| <= 1) keeps the update stable (Numerical Recipes, 11.1).
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        m[p * n + p] -= t * apq;
        m[q * n + q] += t * apq;
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          const kp = c * akp - s * akq;
          const kq = s * akp + c * akq;
          m[k * n + p] = kp;
          m[p * n + k] = kp;
          m[k * n + q] = kq;
          m[q * n + k] = kq;
        }
      }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = m[i * n + i];
  return out.sort();
}
