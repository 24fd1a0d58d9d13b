/**
 * Baselines on the same denoiser, for honest comparison (docs/ALGORITHM.md section 5). Written in
 * the variance-exploding variable z = x_t / sqrt(abar), image units; each follows its paper's
 * update, with the constants named where they differ from the paper's.
 */
import { axpby, clamp01, geometricSigmas, noiseFor, project, Run, type SolveInput, type SolveResult, startPoint } from './common.js';

interface Common {
  steps: number;
  sigmaStart: number;
  /** Start from noise around grey (their papers; default) or from the operator's estimate plus noise, as VML-MAP does. */
  start?: 'grey' | 'estimate';
}

/** What every baseline sets up: its start, its noise levels (the first down to the model's lowest) and run. */
function begin(input: SolveInput, st: Common) {
  const shape = input.op.inShape;
  const rng = noiseFor(input);
  const start = startPoint(input, Math.min(st.sigmaStart, input.model.sigmaMax), st.start ?? 'grey', rng);
  const sigmas = geometricSigmas(start.sigma, input.model.sigmaMin, st.steps);
  return { shape, n: shape.c * shape.h * shape.w, rng, z0: start.z, sigmas, run: new Run(input, sigmas.length, shape) };
}


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
 * exceeds c and tends to 1/s where s >> 1/c. A plain scalar lambda (an earlier version) let a blur's
 * A^+ amplify the noise by up to 1e8 on its weakest frequencies (Gaussian deblurring: 4.4 dB).
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
