/**
 * VML-MAP: at each noise level sigma, minimise the simplified variational mode-seeking loss
 *
 *   VML_S(z) = -log p_sigma(z) - ||D - z||^2 / (2 sigma^2) + ||y - A D||^2 / (2 sigma_y^2),  D = D(z, sigma)
 *
 * whose gradient is g = -J^T r with r = beta (D - z) + alpha A^T (y - A D), beta = 1/sigma^2, alpha =
 * 1/sigma_y^2 (docs/ALGORITHM.md). Two step rules with the same fixed points (r = 0, J positive definite):
 *  - 'gradient' (solver vml-map, the paper's method: gradient steps through the network): z <- z +
 *    gamma J^T M^-1 r, the loss's gradient in D preconditioned by M = alpha A^T A + beta I (in A's
 *    singular basis 1/(alpha s_k^2 + beta) on measured directions, 1/beta on the null space
 *    (I - S^+ S)), then taken back to z through the exact VJP, one per step, and shortened where it
 *    would lengthen the residual M^-1 r (safeguardedGradientStep). The paper's own
 *    preconditioned rule is known to us only from its reviewers' description (docs/ALGORITHM.md);
 *  - 'fixed-point' (solver vml-fp): z <- z + gamma M^-1 r, the same step with J taken as I
 *    (Gauss-Newton without the Jacobian): no VJP. Not the paper's rule.
 * The solve starts from the operator's estimate of x (A's `estimate`) plus noise up to the first level.
 */
import { gaussNewtonResidual } from '../operators/residual.js';
import type { Denoiser } from '../model/denoiser-interface.js';
import type { LinearOperator, Shape } from '../types.js';
import { axpby, dot, geometricSigmas, noiseFor, project, Run, type SolveInput, type SolveResult, startPoint } from './common.js';

export type StepRule = 'gradient' | 'fixed-point';
/**
 * How z moves from sigma to the next, lower, sigma' (with detail = 0):
 *  - 'score': z' = D + (sigma'/sigma)^2 (z - D) keeps the score (D - z)/sigma^2, so for a Gaussian
 *    prior a stationary point at sigma maps to the stationary point at sigma' (D(z') = D(z));
 *  - 'ddim': z' = D + (sigma'/sigma) (z - D), the deterministic DDIM step.
 */
export type Transition = 'score' | 'ddim';

export interface VmlMapSettings {
  /** Number of noise levels. */
  levels: number;
  /** Mode-seeking steps per noise level. */
  inner: number;
  stepRule: StepRule;
  /** Step length gamma (1 = the full preconditioned step). */
  stepScale: number;
  transition: Transition;
  /**
   * Highest noise level (image units), clamped to the model's range; never below the noise the
   * starting estimate already carries (denoising: sigma_y).
   */
  sigmaStart: number;
  /**
   * Lowest noise level, where mode-seeking stops and D there is returned; the model's lowest by
   * default. Also never below sigmaEndPerSigmaY * sigma_y: with noisy measurements the posterior at
   * that level can beat its limit in PSNR (denoising: at sigma_y itself z = y is stationary and D(y)
   * is the posterior mean, while lower levels move toward the MAP).
   */
  sigmaEnd?: number;
  sigmaEndPerSigmaY: number;
  /** 'estimate': the operator's estimate of x plus noise; 'grey': noise around mid-grey (for ablations). */
  start: 'estimate' | 'grey';
  /**
   * 0 = the MAP (deterministic transitions). Higher values, up to 1, replace that share of the noise
   * carried between levels with fresh noise (z' = D + sigma' (sqrt(1 - d^2) (z - D)/sigma + d n)),
   * moving the result toward a posterior sample: more texture, lower PSNR.
   */
  detail: number;
  /** sigma_y used inside the loss when the measurement is exact (sigma_y = 0). */
  sigmaYFloor: number;
}

export const VMLMAP_DEFAULTS: VmlMapSettings = {
  levels: 20,
  inner: 3,
  stepRule: 'fixed-point',
  stepScale: 1,
  transition: 'score',
  sigmaStart: 1,
  sigmaEndPerSigmaY: 0,
  start: 'estimate',
  detail: 0,
  sigmaYFloor: 1e-3,
};

/** M^-1 r, through the operator's fused step where it has one (it equals normalSolve of the residual). */
function preconditionedResidual(op: LinearOperator, D: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array {
  return op.gaussNewtonStep ? op.gaussNewtonStep(D, z, y, alpha, beta) : op.normalSolve(gaussNewtonResidual(op, D, z, y, alpha, beta), alpha, beta);
}

/** D = D(z, s) and the fixed-point residual u = M^-1 r there. */
export interface Evaluated {
  D: Float64Array;
  u: Float64Array;
}

/**
 * One mode-seeking step at noise level s (alpha = 1/sigma_y^2): D = D(z, s) and the step to add to z,
 * before the step length. 'fixed-point': M^-1 r. 'gradient': J^T M^-1 r through the VJP; M^-1 goes
 * first because the other order, M^-1 J^T r, diverges at small sigma_y: J leaks the alpha-weighted
 * data residual into A's null space, where M^-1 is sigma^2 rather than 1/alpha (docs/ALGORITHM.md).
 */
export async function vmlStep(
  input: Pick<SolveInput, 'op' | 'y' | 'model'>,
  z: Float64Array,
  s: number,
  alpha: number,
  rule: StepRule,
  between: () => void = () => {},
  known?: Evaluated,
): Promise<Evaluated & { step: Float64Array }> {
  const { op, y, model } = input;
  const shape = op.inShape;
  const beta = 1 / (s * s);
  const D = known?.D ?? (await model.denoise(z, shape, s));
  const u = known?.u ?? preconditionedResidual(op, D, z, y, alpha, beta);
  if (rule === 'fixed-point') return { D, u, step: u };
  between();
  return { D, u, step: await model.jtv(z, shape, s, u) };
}

/** Halvings of the gradient rule's step before a level's steps end (docs/ALGORITHM.md, Step rules). */
export const GRADIENT_HALVINGS = 3;

/**
 * The gradient rule's step, safeguarded: z + gamma J^T u is taken only if the fixed-point residual
 * u = M^-1 r there is no longer than at z (the stationarity the solver reports); otherwise gamma is
 * halved, up to GRADIENT_HALVINGS times. Guarding the step's own objective ||D(z) - D*|| instead
 * does not stop the drift on SR x4: D* moves with z (docs/ALGORITHM.md). Each trial costs one
 * forward (evaluate), and the accepted trial's D and u are the next step's, so a step never
 * shortened costs nothing extra. Returns the new z with its evaluation, or undefined if no trial
 * kept the residual from growing (z stays where it is).
 */
async function safeguardedGradientStep(
  z: Float64Array,
  taken: Evaluated & { step: Float64Array },
  gamma: number,
  evaluate: (z: Float64Array) => Promise<Evaluated>,
  onShortened: () => void,
): Promise<{ z: Float64Array; at: Evaluated } | undefined> {
  const now = dot(taken.u, taken.u);
  for (let t = 0, g = gamma; t <= GRADIENT_HALVINGS; t++, g /= 2) {
    const trial = axpby(1, z, g, taken.step);
    const at = await evaluate(trial);
    if (dot(at.u, at.u) <= now) return { z: trial, at };
    onShortened();
  }
  return undefined;
}

export async function vmlMap(input: SolveInput, settings: VmlMapSettings): Promise<SolveResult> {
  const { op, y } = input;
  const model = reusingLastCall(input.model);
  const shape = op.inShape;
  const n = shape.c * shape.h * shape.w;
  model.check(shape);
  if (!(settings.detail >= 0 && settings.detail <= 1)) throw new RangeError(`detail must be in [0, 1], got ${settings.detail}`);
  const rng = noiseFor(input);
  const sy = Math.max(input.sigmaY, settings.sigmaYFloor);
  const alpha = 1 / (sy * sy);
  const start = startPoint(input, Math.min(settings.sigmaStart, model.sigmaMax), settings.start, rng);
  const hi = start.sigma;
  const lo = Math.min(Math.max(settings.sigmaEnd ?? model.sigmaMin, settings.sigmaEndPerSigmaY * input.sigmaY, model.sigmaMin), hi);
  const sigmas = geometricSigmas(hi, lo, settings.levels);
  // Progress per noise level, or per network step (input.stepProgress): each level's mode-seeking steps and its closing denoise.
  const perLevel = input.stepProgress ? settings.inner + 1 : 1;
  const run = new Run(input, sigmas.length * perLevel, shape);
  const gradient = settings.stepRule === 'gradient';

  let z = start.z;
  let shortened = 0;

  let D: Float64Array = new Float64Array(n);
  let beta = 1;
  for (let level = 0; level < sigmas.length; level++) {
    const s = sigmas[level];
    beta = 1 / (s * s);
    // The gradient rule's trial points: D and u there (one forward), checking for cancellation first.
    const evaluate = async (zt: Float64Array): Promise<Evaluated> => {
      run.checkCancel();
      const Dt = await model.denoise(zt, shape, s);
      return { D: Dt, u: preconditionedResidual(op, Dt, zt, y, alpha, 1 / (s * s)) };
    };
    // D and u at the current z when already computed (an accepted trial, or a step that stalled).
    let known: Evaluated | undefined;
    for (let k = 0; k < settings.inner; k++) {
      run.checkCancel();
      const taken = await vmlStep({ op, y, model }, z, s, alpha, settings.stepRule, () => run.checkCancel(), known);
      if (gradient) {
        const next = await safeguardedGradientStep(z, taken, settings.stepScale, evaluate, () => shortened++);
        // No shorter step keeps the residual from growing: this level's steps end here.
        if (!next) {
          known = taken;
          break;
        }
        z = next.z;
        known = next.at;
      } else {
        for (let i = 0; i < n; i++) z[i] += settings.stepScale * taken.step[i];
      }
      if (perLevel > 1) run.progress(level * perLevel + k + 1, taken.D);
    }
    run.checkCancel();
    D = known?.D ?? (await model.denoise(z, shape, s));
    if (level + 1 < sigmas.length) z = transition(z, D, s, sigmas[level + 1], settings, () => rng.normals(n));
    run.progress((level + 1) * perLevel, D);
  }
  // How far from stationary the last level ended: the fixed-point step relative to z.
  const lastStep = preconditionedResidual(op, D, z, y, alpha, beta);
  const stationarity = Math.sqrt(dot(lastStep, lastStep) / Math.max(dot(z, z), 1e-300));
  const x = input.sigmaY === 0 ? project(op, D, y) : D;
  const stats = run.stats();
  stats.approximateVjp = gradient && !model.hasVjp;
  stats.stationarity = stationarity;
  if (gradient) stats.shortenedSteps = shortened;
  return { x, stats };
}

/**
 * The denoiser, except that a call at the previous call's noise level and at the same z in float32
 * (what the network sees) returns the previous D without running the network: the solver stands
 * still where a step is zero, as at a stationary start (denoising from y at sigma_y). Counters
 * count only the calls that ran.
 */
function reusingLastCall(model: Denoiser): Denoiser {
  let last: { z: Float32Array; s: number; D: Float64Array } | undefined;
  const same = (z: Float64Array, s: number): boolean => {
    if (!last || last.s !== s || last.z.length !== z.length) return false;
    for (let i = 0; i < z.length; i++) if (last.z[i] !== Math.fround(z[i]!)) return false;
    return true;
  };
  return Object.assign(Object.create(model) as Denoiser, {
    async denoise(z: Float64Array, shape: Shape, s: number): Promise<Float64Array> {
      if (same(z, s)) return Float64Array.from(last!.D);
      const D = await model.denoise(z, shape, s);
      last = { z: Float32Array.from(z), s, D: Float64Array.from(D) };
      return D;
    },
  });
}

function transition(z: Float64Array, D: Float64Array, s: number, s2: number, st: VmlMapSettings, fresh: () => Float64Array): Float64Array {
  if (st.detail > 0) {
    const keep = Math.sqrt(1 - st.detail * st.detail) * (s2 / s);
    const n = fresh();
    const out = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = D[i] + keep * (z[i] - D[i]) + st.detail * s2 * n[i];
    return out;
  }
  const ratio = st.transition === 'score' ? (s2 / s) ** 2 : s2 / s;
  return axpby(1 - ratio, D, ratio, z);
}
