/**
 * The inverse problem of a job, or of one window of it: the output shape, the operator and the
 * measurement y. The whole image is the window that covers it.
 */
import { Luma } from '../operators/luma.js';
import { operatorFor } from '../operators/index.js';
import { countMissing } from '../photo/user-mask.js';
import type { TaskSpec } from '../tasks.js';
import { type LinearOperator, type Shape, UserError } from '../types.js';
import type { Rect } from './regions.js';
import type { RestoreJob } from './types.js';

/** Shape of the restored image for a measurement of shape `s`. */
export function outputShape(spec: TaskSpec, s: Shape): Shape {
  if (spec.task === 'sr' && !spec.scale) throw new UserError('super-resolution needs a scale (2, 3 or 4)');
  const k = spec.task === 'sr' ? spec.scale! : 1;
  return { c: 3, h: s.h * k, w: s.w * k };
}

/** The operator for a job whose clean image has shape `clean`; `observed` is its mask's weights (1 = observed). */
export function buildOperator(spec: TaskSpec, clean: Shape, observed?: Float64Array): LinearOperator {
  checkMask(spec, clean, observed);
  return operatorFor(spec, clean, takesMask(spec) ? observed : undefined);
}

/** Inpainting needs a mask; an old photo may have one (its damaged pixels). */
const takesMask = (spec: TaskSpec): boolean => spec.task === 'inpaint' || spec.task === 'old-photo';

/** buildOperator's checks of the mask, without building the (full-size) operator: the engine's one size check. */
export function checkMask(spec: TaskSpec, clean: Shape, observed?: Float64Array): void {
  if (!takesMask(spec)) return;
  if (!observed) {
    if (spec.task === 'old-photo') return;
    throw new UserError('inpainting needs a mask (white = pixels to restore)');
  }
  if (observed.length !== clean.h * clean.w) throw new UserError(`mask has ${observed.length} pixels but the image has ${clean.h * clean.w}`);
}

/** Rows y0..y1, columns x0..x1 of a planar image. */
export function cropPlanar(data: Float64Array, s: Shape, r: Rect): Float64Array {
  const h = r.y1 - r.y0;
  const w = r.x1 - r.x0;
  const out = new Float64Array(s.c * h * w);
  for (let c = 0; c < s.c; c++)
    for (let i = 0; i < h; i++) {
      const src = (c * s.h + r.y0 + i) * s.w + r.x0;
      out.set(data.subarray(src, src + w), (c * h + i) * w);
    }
  return out;
}

/** The task's operator on a window of the restored image, and the window's measurement. */
export function windowProblem(job: RestoreJob, clean: Shape, r: Rect, scale: number): { op: LinearOperator; y: Float64Array } {
  const spec: TaskSpec = job.spec;
  const shape = { c: clean.c, h: r.y1 - r.y0, w: r.x1 - r.x0 };
  const image = job.image;
  if (spec.task === 'sr') {
    const lr = { y0: r.y0 / scale, y1: r.y1 / scale, x0: r.x0 / scale, x1: r.x1 / scale };
    return { op: operatorFor(spec, shape), y: cropPlanar(image.data, image, lr) };
  }
  const crop = cropPlanar(image.data, image, r);
  if (spec.task === 'inpaint') {
    const op = operatorFor(spec, shape, cropPlanar(job.observed!, { c: 1, h: clean.h, w: clean.w }, r));
    return { op, y: op.forward(crop) };
  }
  if (spec.task === 'old-photo') {
    const observed = job.observed && cropPlanar(job.observed, { c: 1, h: clean.h, w: clean.w }, r);
    return { op: operatorFor(spec, shape, observed), y: oldPhotoMeasurement(spec, crop, shape, observed) };
  }
  const op = operatorFor(spec, shape);
  return { op, y: spec.task === 'colorize' ? op.forward(crop) : crop };
}

/**
 * The photo is blurred already: its measurement is what follows the blur in the chain, applied to
 * the photo itself: its luma when colourising, times the mask's weights.
 */
function oldPhotoMeasurement(spec: TaskSpec, photo: Float64Array, shape: Shape, observed?: Float64Array): Float64Array {
  const y = spec.colorize ? new Luma(shape).forward(photo) : Float64Array.from(photo);
  if (observed) for (let i = 0; i < y.length; i++) y[i] *= observed[i % observed.length];
  return y;
}

/** The whole image as a window. */
export const wholeRect = (s: Shape): Rect => ({ y0: 0, y1: s.h, x0: 0, x1: s.w });

export function finite(x: Float64Array): void {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new UserError('the result contains NaN or Inf; nothing was written');
}

/** The operator's name as the untiled job would report it, without building it at full size. */
export function operatorName(spec: TaskSpec, observed?: Float64Array): string {
  if (spec.task === 'old-photo') {
    const parts = [
      spec.kernel && operatorFor({ task: 'deblur', kernel: spec.kernel, sigmaY: 0 }, { c: 3, h: 12, w: 12 }).name,
      spec.colorize && 'luma',
      observed && countMissing(observed) > 0 && maskName(observed),
    ];
    return parts.filter(Boolean).join(' then ') || 'identity';
  }
  if (spec.task === 'inpaint') return maskName(observed!);
  return operatorFor(spec, { c: 3, h: 12, w: 12 }).name;
}

const maskName = (observed: Float64Array): string => `mask (${((100 * (observed.length - countMissing(observed))) / observed.length).toFixed(1)}% observed)`;
