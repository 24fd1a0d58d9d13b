/** The DDNM baseline (docs/ALGORITHM.md). */
import { begin, type Common } from './baseline-common.js';
import { axpby, clamp01, type SolveInput, type SolveResult } from './common.js';

export interface DdnmSettings extends Common {
  /** DDIM's eta: 0 deterministic, 1 ancestral. */
  eta: number;
}

/**
 * DDNM (Wang et al. 2023): replace the range-space part of the denoised estimate by A^+ y,
 * x = D + A^+ (y - A D), then a DDIM step. No VJP.
 *
 * Noisy measurements (DDNM+): the paper scales the correction per singular value s of A, to
 * min(1/s, c) with c = sigma_next / sigma_y, so that the noise it lets through never exceeds the
 * diffusion noise still to come. That needs an SVD, which a blur under the reflective boundary does
 * not have; we apply the smooth bound s / (s^2 + mu), mu = 1 / (2c)^2, through normalSolve: it never
 * exceeds c and tends to 1/s where s >> 1/c, where a scalar lambda would let a blur's A^+ amplify
 * the noise on its weakest frequencies (docs/ALGORITHM.md).
 */
export async function ddnm(input: SolveInput, st: DdnmSettings): Promise<SolveResult> {
  const { op, y, model } = input;
  const { shape, n, rng, z0, sigmas, run } = begin(input, st);
  let z = z0;
  let x: Float64Array = new Float64Array(n);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    run.checkCancel();
    const D = clamp01(await model.denoise(z, shape, s)); // clip_denoised, as for DiffPIR
    const s2 = i + 1 < sigmas.length ? sigmas[i + 1] : 0;
    const res = op.forward(D);
    for (let k = 0; k < res.length; k++) res[k] = y[k] - res[k];
    if (input.sigmaY > 0) {
      const c = Math.max(s2, model.sigmaMin) / input.sigmaY;
      x = axpby(1, D, 1, op.normalSolve(op.adjoint(res), 1, 1 / (4 * c * c)));
    } else {
      x = axpby(1, D, 1, op.pinv(res));
    }
    if (s2 > 0) {
      const sdNoise = st.eta * s2 * Math.sqrt(Math.max(0, 1 - (s2 * s2) / (s * s)));
      const sdDir = Math.sqrt(Math.max(0, s2 * s2 - sdNoise * sdNoise));
      const fresh = rng.normals(n);
      const next = new Float64Array(n);
      for (let k = 0; k < n; k++) next[k] = x[k] + sdDir * ((z[k] - D[k]) / s) + sdNoise * fresh[k];
      z = next;
    }
    run.progress(i + 1, x);
  }
  return { x, stats: run.stats() };
}
