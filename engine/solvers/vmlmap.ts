/**
 * VML-MAP: at each noise level sigma, minimise the simplified variational mode-seeking loss
 *
 *   VML_S(z) = -log p_sigma(z) - ||D - z||^2 / (2 sigma^2) + ||y - A D||^2 / (2 sigma_y^2),  D = D(z, sigma)
 *
 * whose gradient is g = -J^T r with r = (D - z)/sigma^2 + A^T (y - A D)/sigma_y^2 (docs/ALGORITHM.md).
 * Two step rules with the same fixed points (r = 0, since J is positive definite):
 *  - 'gradient': z <- z - gamma g, through the model's VJP graph (the paper's method);
 *  - 'preconditioned': z <- z + M^-1 r, M = A^T A / sigma_y^2 + I / sigma^2 (Gauss-Newton with J
 *    taken as I). No VJP. Measured in docs/ALGORITHM.md to reach the exact MAP on a Gaussian prior
 *    and the MAP mode of a mixture, where the plain gradient is slow.
 */
import { gaussNewtonResidual } from '../operators/residual.js';
import type { LinearOperator } from '../types.js';
import { axpby, geometricSigmas, noiseFor, project, Rng, Run, type SolveInput, type SolveResult, startFromNoise } from './common.js';

export type StepRule = 'gradient' | 'preconditioned';
/**
 * How z moves from sigma to the next, lower, sigma':
 *  - 'score': z' = D + (sigma'/sigma)^2 (z - D) keeps the score (D - z)/sigma^2, so for a Gaussian
 *    prior a stationary point at sigma maps to the stationary point at sigma' (D(z') = D(z));
 *  - 'ddim': z' = D + (sigma'/sigma) (z - D), the deterministic DDIM step;
 *  - 'stochastic': z' = D + sigma' n with fresh noise n.
 */
export type Transition = 'score' | 'ddim' | 'stochastic';

export interface VmlMapSettings {
  /** Number of noise levels. */
  levels: number;
  /** Mode-seeking steps per noise level. */
  inner: number;
  stepRule: StepRule;
  /** Gradient rule: gamma = stepScale / L, L a Lipschitz bound of the gradient. Preconditioned: damping. */
  stepScale: number;
  transition: Transition;
  /** Highest noise level (image units); clamped to the model's range. */
  sigmaStart: number;
  /** Lowest noise level; defaults to the model's lowest. */
  sigmaEnd?: number;
  /**
   * Start from A^+ y + sigmaStart * noise instead of noise around grey (or around the operator's
   * neutralEstimate(y), where it has one: colourisation's grey image).
   */
  truncatedStart: boolean;
  /** sigma_y used inside the loss when the measurement is exact (sigma_y = 0). */
  sigmaYFloor: number;
}

export const VMLMAP_DEFAULTS: VmlMapSettings = {
  levels: 20,
  inner: 3,
  stepRule: 'preconditioned',
  stepScale: 1,
  transition: 'score',
  sigmaStart: 20,
  truncatedStart: false,
  sigmaYFloor: 1e-3,
};

/** ||A||^2 by power iteration on A^T A (no network calls). */
export function opNormSquared(op: LinearOperator, iters = 30, seed = 7): number {
  const rng = new Rng(seed);
  let v = rng.normals(op.inShape.c * op.inShape.h * op.inShape.w);
  let lambda = 0;
  for (let i = 0; i < iters; i++) {
    const w = op.adjoint(op.forward(v));
    let n = 0;
    for (let k = 0; k < w.length; k++) n += w[k] * w[k];
    n = Math.sqrt(n);
    if (n === 0) return 0;
    let vv = 0;
    for (let k = 0; k < v.length; k++) vv += v[k] * v[k];
    lambda = n / Math.sqrt(vv);
    for (let k = 0; k < w.length; k++) w[k] /= n;
    v = w;
  }
  return lambda;
}

export async function vmlMap(input: SolveInput, settings: VmlMapSettings): Promise<SolveResult> {
  const { op, y, model } = input;
  const shape = op.inShape;
  const n = shape.c * shape.h * shape.w;
  model.check(shape);
  const rng = noiseFor(input);
  const sy = Math.max(input.sigmaY, settings.sigmaYFloor);
  const alpha = 1 / (sy * sy);
  const hi = Math.min(settings.sigmaStart, model.sigmaMax);
  const lo = Math.max(settings.sigmaEnd ?? model.sigmaMin, model.sigmaMin);
  const sigmas = geometricSigmas(hi, lo, settings.levels);
  const run = new Run(input, sigmas.length, shape);
  const lip = settings.stepRule === 'gradient' ? opNormSquared(op) : 0;
  const needVjp = settings.stepRule === 'gradient';

  let z = settings.truncatedStart
    ? axpby(1, op.pinv(y), hi, rng.normals(n))
    : op.neutralEstimate
      ? axpby(1, op.neutralEstimate(y), hi, rng.normals(n))
      : startFromNoise(n, hi, rng);

  let D: Float64Array = new Float64Array(n);
  for (let level = 0; level < sigmas.length; level++) {
    const s = sigmas[level];
    const beta = 1 / (s * s);
    for (let k = 0; k < settings.inner; k++) {
      run.checkCancel();
      D = await model.denoise(z, shape, s);
      if (settings.stepRule === 'preconditioned') {
        const step = op.gaussNewtonStep
          ? op.gaussNewtonStep(D, z, y, alpha, beta)
          : op.normalSolve(gaussNewtonResidual(op, D, z, y, alpha, beta), alpha, beta);
        for (let i = 0; i < n; i++) z[i] += settings.stepScale * step[i];
      } else {
        const r = gaussNewtonResidual(op, D, z, y, alpha, beta);
        run.checkCancel();
        const jtr = await model.jtv(z, shape, s, r);
        const gamma = settings.stepScale / (beta + alpha * lip);
        for (let i = 0; i < n; i++) z[i] += gamma * jtr[i];
      }
    }
    run.checkCancel();
    D = await model.denoise(z, shape, s);
    if (level + 1 < sigmas.length) {
      const s2 = sigmas[level + 1];
      if (settings.transition === 'stochastic') {
        const fresh = rng.normals(n);
        z = axpby(1, D, s2, fresh);
      } else {
        const ratio = settings.transition === 'score' ? (s2 / s) ** 2 : s2 / s;
        z = axpby(1 - ratio, D, ratio, z);
      }
    }
    run.progress(level + 1, D);
  }
  const x = input.sigmaY === 0 ? project(op, D, y) : D;
  const stats = run.stats();
  stats.approximateVjp = needVjp && !model.hasVjp;
  return { x, stats };
}
