/** The DPS baseline (docs/ALGORITHM.md). */
import { begin, type Common } from './baseline-common.js';
import { clamp01, project, type SolveInput, type SolveResult } from './common.js';

export interface DpsSettings extends Common {
  /** DPS's step zeta (its paper: 0.3 to 1.0 on [-1, 1] images). */
  zeta: number;
}

/**
 * DPS (Chung et al. 2023): an ancestral step, then a gradient step on ||y - A D(z)|| through the
 * network (one VJP per step). Its update is x_t -= zeta grad_{x_t} ||y_m - A D_m||, in model space
 * x_t = sqrt(abar) (a z + lo); in image units that is z -= zeta / abar * grad_z ||y - A D||.
 */
export async function dps(input: SolveInput, st: DpsSettings): Promise<SolveResult> {
  const { op, y, model } = input;
  const { shape, n, rng, z0, sigmas, run } = begin(input, st);
  let z = z0;
  let D: Float64Array = new Float64Array(n);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    run.checkCancel();
    D = await model.denoise(z, shape, s);
    const res = op.forward(D);
    let norm = 0;
    for (let k = 0; k < res.length; k++) {
      res[k] = y[k] - res[k];
      norm += res[k] * res[k];
    }
    norm = Math.sqrt(norm) || 1e-12;
    // grad_z ||y - A D|| = -J^T A^T (y - A D) / ||y - A D||
    run.checkCancel();
    const g = await model.jtv(z, shape, s, op.adjoint(res));
    const s2 = i + 1 < sigmas.length ? sigmas[i + 1] : 0;
    // Ancestral (DDPM) step in VE form: mean D + (s2^2/s^2)(z - D), variance s2^2 (1 - s2^2/s^2).
    const ratio = (s2 * s2) / (s * s);
    const fresh = rng.normals(n);
    const sd = s2 * Math.sqrt(Math.max(0, 1 - ratio));
    const scale = st.zeta / (model.valueScale * model.abarAt(s)) / norm;
    const next = new Float64Array(n);
    const Dc = clamp01(D); // the ancestral mean uses the clipped estimate (clip_denoised)
    for (let k = 0; k < n; k++) next[k] = Dc[k] + ratio * (z[k] - Dc[k]) + sd * fresh[k] + scale * g[k];
    z = next;
    run.progress(i + 1, D);
  }
  const stats = run.stats();
  stats.approximateVjp = !model.hasVjp;
  return { x: input.sigmaY === 0 ? project(op, D, y) : D, stats };
}
