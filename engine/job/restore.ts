/**
 * The job the CLI and the app both run: a photo (the measurement), a task, a solver; and its
 * inverse, degrade(), which makes synthetic measurements from clean images for evaluation.
 */
import type { Denoiser } from '../model/denoiser.js';
import { Luma } from '../operators/luma.js';
import { Rng } from '../solvers/common.js';
import { syntheticOldPhoto } from '../synthetic/old-photo.js';
import { settingsFor, solve } from '../solvers/index.js';
import type { TaskSpec } from '../tasks.js';
import { type Img, type Shape, UserError } from '../types.js';
import { buildOperator, checkMask, finite, operatorName, outputShape, wholeRect, windowProblem } from './problem.js';
import { planJob, runPlanned } from './run.js';
import { estimateJobTime, JobTooLongError } from './time-estimate.js';
import type { Preflight, RestoreJob, RestoreResult, RunOptions } from './types.js';

export type { Preflight, RestoreJob, RestoreResult, RunOptions } from './types.js';
export { buildOperator, outputShape } from './problem.js';

/**
 * The checks and plan of a job from its shape alone, so that a caller can refuse a job before
 * decoding its photo: the settings, the mask, the model's size rules, the memory plan and, when
 * job.maxSeconds is set, the time estimate (JobTooLongError above it).
 */
export async function preflight(model: Denoiser, job: Omit<RestoreJob, 'image'> & { shape: Shape }): Promise<Preflight> {
  const { spec } = job;
  if (job.shape.c !== 3) throw new UserError(`expected an RGB image, got ${job.shape.c} channels`);
  if (!(spec.sigmaY >= 0 && spec.sigmaY < 1)) throw new UserError(`sigma-y must be in [0, 1), got ${spec.sigmaY}`);
  const clean = outputShape(spec, job.shape);
  const settings = settingsFor(job.solver.solver, job.solver.preset, spec.task, {
    steps: job.solver.steps,
    vml: job.solver.detail ? { detail: job.solver.detail } : undefined,
  });
  checkMask(spec, clean, job.observed);
  model.check(clean);
  // The memory preflight, and the choice between one solve, tiles and inpainting by region.
  const plan = await planJob(model, job, clean, settings, model.sizeMultiple, model.fixedSize !== null);
  if (job.maxSeconds === undefined) return { clean, settings, plan };
  const estimate = await estimateJobTime(model, spec, plan.report, settings);
  if (estimate.seconds > job.maxSeconds) throw new JobTooLongError(estimate, job.maxSeconds);
  return { clean, settings, plan, estimate };
}

export async function restore(model: Denoiser, job: RestoreJob, opts: RunOptions = {}): Promise<RestoreResult> {
  const { image, spec } = job;
  const { clean, settings, plan, estimate } = await preflight(model, { ...job, shape: image });
  if (plan.report.mode !== 'whole') return { ...(await runPlanned(model, job, clean, settings, plan, opts, operatorName(spec, job.observed))), estimate };
  // The whole image is the window that covers it; its noise is one Rng(seed) stream, as before tiling.
  const { op, y } = windowProblem(job, clean, wholeRect(clean), spec.task === 'sr' ? spec.scale! : 1);
  const { x, stats } = await solve(
    { op, y, sigmaY: spec.sigmaY, model, seed: job.solver.seed, signal: opts.signal, onProgress: opts.onProgress, previewEvery: job.previewEvery, stepProgress: opts.stepProgress },
    settings,
  );
  finite(x);
  return { image: { ...clean, data: x }, stats, operator: op.name, tiling: plan.report, estimate };
}

export interface Degraded {
  /** The measurement as a 3-channel image a person (and restore()) can read. */
  image: Img;
  /** Inpainting: the mask's observed weights (1 = observed). */
  observed?: Float64Array;
}

/**
 * Synthetic measurement y = A x + sigma_y n of a clean image, shown as an image: for inpainting the
 * missing pixels are black, for colourisation the luma is copied to all three channels.
 */
export function degrade(clean: Img, spec: TaskSpec, seed: number, observed?: Float64Array): Degraded {
  if (spec.task === 'old-photo') return degradeOldPhoto(clean, spec, seed);
  const op = buildOperator(spec, clean, observed);
  const y = op.forward(clean.data);
  if (spec.sigmaY > 0) {
    const rng = new Rng(seed);
    for (let i = 0; i < y.length; i++) y[i] += spec.sigmaY * rng.normal();
  }
  const o = op.outShape;
  if (spec.task === 'colorize') {
    const data = new Float64Array(3 * o.h * o.w);
    for (let c = 0; c < 3; c++) data.set(y, c * o.h * o.w);
    return { image: { c: 3, h: o.h, w: o.w, data } };
  }
  return { image: { ...o, data: y }, observed };
}

/**
 * A synthetic old photo (engine/synthetic/old-photo.ts): the Gaussian blur of the spec, grain of
 * sigma_y, then scratches, dust and blotches drawn in; grey when the spec colourises. `observed` is
 * the true mask of the drawn damage.
 */
function degradeOldPhoto(clean: Img, spec: TaskSpec, seed: number): Degraded {
  if (spec.kernel && spec.kernel.type !== 'gaussian') throw new UserError('a synthetic old photo is blurred by a Gaussian kernel (gaussian:STD) or not at all');
  const options = { seed, blurStd: spec.kernel?.std ?? 0, sigma: spec.sigmaY };
  if (!spec.colorize) {
    const old = syntheticOldPhoto(clean, options);
    return { image: old.image, observed: old.observed };
  }
  // Blur and luma commute: the grey photo is blurred, given grain of sigma_y and damaged, as y = m (L B x + n).
  const grey = { c: 1, h: clean.h, w: clean.w, data: new Luma(clean).forward(clean.data) };
  const old = syntheticOldPhoto(grey, options);
  const data = new Float64Array(3 * old.image.data.length);
  for (let c = 0; c < 3; c++) data.set(old.image.data, c * old.image.data.length);
  return { image: { c: 3, h: clean.h, w: clean.w, data }, observed: old.observed };
}
