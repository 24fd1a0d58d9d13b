/**
 * restore --task old-photo: what the flags leave out is read from the decoded photo
 * (engine/estimate/old-photo.ts): the damage (no --mask), the grain (no --sigma-y, or auto) and the
 * blur (no --kernel, or auto; `--kernel none` for none). Each estimate is noted on stderr or put in
 * --json, so that a person can check it and give the value instead.
 */
import { estimateOldPhoto, type OldPhotoEstimate } from '../engine/estimate/old-photo.js';
import type { TaskSpec } from '../engine/tasks.js';
import { type Img, UserError } from '../engine/types.js';
import type { Flags, ParsedTask } from './args.js';
import { sensitivityOption } from './args.js';

export interface ResolvedOldPhoto {
  spec: TaskSpec;
  observed: Float64Array;
  estimate: OldPhotoEstimate;
  /** One line per estimated value, for stderr. */
  notes: string[];
}

export function resolveOldPhoto(f: Flags, parsed: ParsedTask, image: Img, observed: Float64Array | undefined): ResolvedOldPhoto {
  const sensitivity = sensitivityOption(f);
  let estimate: OldPhotoEstimate;
  try {
    estimate = estimateOldPhoto(image, {
      observed: observed ?? (f.mask === 'none' ? new Float64Array(image.h * image.w).fill(1) : undefined),
      sigmaY: parsed.sigmaYAuto ? undefined : parsed.spec.sigmaY,
      kernel: parsed.kernelAuto ? undefined : (parsed.spec.kernel ?? null),
      sensitivity,
    });
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`--task old-photo: ${e.message}; give --sigma-y, --kernel and --mask (or none)`);
    throw e;
  }
  if (!(estimate.sigmaY < 1)) throw new UserError(`--task old-photo: the estimated noise level ${estimate.sigmaY.toFixed(3)} is outside [0, 1); give --sigma-y S`);
  const notes: string[] = [];
  if (estimate.estimated.mask) notes.push(`detected damage on ${(100 * estimate.damaged).toFixed(1)}% of the pixels (check it with vmlmap detect, or give --mask)`);
  if (estimate.estimated.sigmaY) notes.push(`estimated noise level sigma_y = ${estimate.sigmaY.toFixed(3)}`);
  if (estimate.estimated.kernel) notes.push(estimate.kernel ? `estimated blur std = ${estimate.blurStd.toFixed(2)} px` : 'the photo reads sharp: no deblurring (give --kernel gaussian:STD to deblur)');
  const spec: TaskSpec = { ...parsed.spec, sigmaY: estimate.sigmaY, kernel: estimate.kernel };
  return { spec, observed: estimate.observed, estimate, notes };
}
