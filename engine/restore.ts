/**
 * The job the CLI and the app both run: a photo (the measurement), a task, a solver; and its
 * inverse, degrade(), which makes synthetic measurements from clean images for evaluation.
 */
import type { Denoiser } from './model/denoiser.js';
import { maskFromRestoreImage, operatorFor } from './operators/index.js';
import { Rng } from './solvers/common.js';
import { type SolverSettings, settingsFor, solve } from './solvers/index.js';
import type { SolverSpec, TaskSpec } from './tasks.js';
import { estimateJobTime, JobTooLongError, type TimeEstimate } from './tiling/time-estimate.js';
import { type JobPlan, operatorName, planJob, runPlanned, type TilingOptions, type TilingReport } from './tiling/tiled.js';
import { type Img, type LinearOperator, type Progress, type Shape, type SolveStats, UserError } from './types.js';

export interface RestoreJob {
  /** The photo to restore, 3 channels in [0, 1]: the measurement y (its luma for colourisation). */
  image: Img;
  /** Inpainting: h*w, 1 = pixel to restore (white in the user's mask), 0 = keep. */
  mask?: Float64Array;
  spec: TaskSpec;
  solver: SolverSpec;
  previewEvery?: number;
  /** Large images and inpainting by region (engine/tiling/, docs/TILING.md); defaults when absent. */
  tiling?: TilingOptions;
  /** Refuse the job (JobTooLongError) when its estimated time is above this; no estimate when absent. */
  maxSeconds?: number;
}

/** What restore() decides before touching pixels: the plan, and the time estimate when asked for. */
export interface Preflight {
  clean: Shape;
  settings: SolverSettings;
  plan: JobPlan;
  estimate?: TimeEstimate;
}

export interface RestoreResult {
  image: Img;
  stats: SolveStats;
  operator: string;
  /** How the job ran: whole, in tiles or by region, and what the memory preflight found. */
  tiling?: TilingReport;
  estimate?: TimeEstimate;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** Shape of the restored image for a measurement of shape `s`. */
export function outputShape(spec: TaskSpec, s: Shape): Shape {
  if (spec.task === 'sr' && !spec.scale) throw new UserError('super-resolution needs a scale (2, 3 or 4)');
  const k = spec.task === 'sr' ? spec.scale! : 1;
  return { c: 3, h: s.h * k, w: s.w * k };
}

/** The operator for a job whose clean image has shape `clean`; the mask is in restore-form. */
export function buildOperator(spec: TaskSpec, clean: Shape, restoreMask?: Float64Array): LinearOperator {
  if (spec.task === 'inpaint') {
    if (!restoreMask) throw new UserError('inpainting needs a mask (white = pixels to restore)');
    if (restoreMask.length !== clean.h * clean.w) throw new UserError(`mask has ${restoreMask.length} pixels but the image has ${clean.h * clean.w}`);
    return operatorFor(spec, clean, maskFromRestoreImage({ c: 1, h: clean.h, w: clean.w, data: restoreMask }));
  }
  return operatorFor(spec, clean);
}

/** y from the user's photo: the photo itself, or its luma for colourisation. */
function measurement(spec: TaskSpec, op: LinearOperator, image: Img): Float64Array {
  if (spec.task === 'colorize') return op.forward(image.data);
  if (spec.task === 'inpaint') return op.forward(image.data);
  return image.data;
}

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
  checkMask(spec, clean, job.mask);
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
  if (plan.report.mode !== 'whole') return { ...(await runPlanned(model, job, clean, settings, plan, opts, operatorName(spec, job.mask))), estimate };
  const op = buildOperator(spec, clean, job.mask);
  const y = measurement(spec, op, image);
  const { x, stats } = await solve(
    { op, y, sigmaY: spec.sigmaY, model, seed: job.solver.seed, signal: opts.signal, onProgress: opts.onProgress, previewEvery: job.previewEvery },
    settings,
  );
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new UserError('the result contains NaN or Inf; nothing was written');
  return { image: { ...clean, data: x }, stats, operator: op.name, tiling: plan.report, estimate };
}

/** buildOperator's checks of the mask, without building the (full-size) operator. */
function checkMask(spec: TaskSpec, clean: Shape, restoreMask?: Float64Array): void {
  if (spec.task !== 'inpaint') return;
  if (!restoreMask) throw new UserError('inpainting needs a mask (white = pixels to restore)');
  if (restoreMask.length !== clean.h * clean.w) throw new UserError(`mask has ${restoreMask.length} pixels but the image has ${clean.h * clean.w}`);
}

export interface Degraded {
  /** The measurement as a 3-channel image a person (and restore()) can read. */
  image: Img;
  /** Inpainting: the restore-form mask. */
  mask?: Float64Array;
}

/**
 * Synthetic measurement y = A x + sigma_y n of a clean image, shown as an image: for inpainting the
 * missing pixels are black, for colourisation the luma is copied to all three channels.
 */
export function degrade(clean: Img, spec: TaskSpec, seed: number, restoreMask?: Float64Array): Degraded {
  const op = buildOperator(spec, clean, restoreMask);
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
  return { image: { ...o, data: y }, mask: restoreMask };
}
