/** The DiffPIR baseline (docs/ALGORITHM.md). */
import { begin, type Common } from './baseline-common.js';
import { axpby, clamp01, project, type SolveInput, type SolveResult } from './common.js';

export interface DiffPirSettings extends Common {
  /** Its lambda: weight of the data proximal step, rho = lambda sigma_y^2 / sigma^2. */
  lambda: number;
  /** Its zeta: share of fresh noise when re-noising. */
  zeta: number;
  sigmaYFloor: number;
}

/**
 * DiffPIR (Zhu et al. 2023): denoise, take an exact proximal step on the data term
 * x = argmin ||y - A x||^2 / (2 sigma_y^2) + rho/(2 sigma_y^2) ||x - D||^2, then re-noise. No VJP.
 */
export async function diffpir(input: SolveInput, st: DiffPirSettings): Promise<SolveResult> {
  const { op, y, model } = input;
  const { shape, n, rng, z0, sigmas, run } = begin(input, st);
  const sy = Math.max(input.sigmaY, st.sigmaYFloor);
  const aty = op.adjoint(y);
  let z = z0;
  let x: Float64Array = new Float64Array(n);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    run.checkCancel();
    // Clipped to the image range, as the reference implementations do (clip_denoised): at high
    // noise an epsilon-predictor's small errors become large errors in D.
    const D = clamp01(await model.denoise(z, shape, s));
    const rho = (st.lambda * sy * sy) / (s * s);
    // (A^T A + rho I) x = A^T y + rho D
    x = op.normalSolve(axpby(1, aty, rho, D), 1, rho);
    const s2 = i + 1 < sigmas.length ? sigmas[i + 1] : 0;
    if (s2 > 0) {
      const fresh = rng.normals(n);
      const a = Math.sqrt(1 - st.zeta);
      const b = Math.sqrt(st.zeta);
      const next = new Float64Array(n);
      for (let k = 0; k < n; k++) next[k] = x[k] + s2 * (a * ((z[k] - x[k]) / s) + b * fresh[k]);
      z = next;
    }
    run.progress(i + 1, x);
  }
  return { x: input.sigmaY === 0 ? project(op, x, y) : x, stats: run.stats() };
}
