/**
 * What an old photo needs to be restored in one solve, read from the photo itself: the damaged
 * pixels (damage.ts), the grain's level (noise-level.ts) and the blur's width (blur-width.ts). Each
 * can be given instead (a person's mask, a known sigma_y or kernel), and then is not estimated.
 *
 * The blur is read with the damaged pixels filled harmonically: a scratch drawn onto the print is
 * sharper than the photo's own edges and would read as no blur at all. The noise is read from the
 * photo as it is: its weak-texture patches leave scratches and specks out by themselves.
 */
import { harmonicFill } from '../operators/harmonic-fill.js';
import { isMissing } from '../photo/user-mask.js';
import type { KernelSpec } from '../tasks.js';
import type { Img } from '../types.js';
import { estimateBlurWidth } from './blur-width.js';
import { DAMAGE_THRESHOLDS, damageMask, damageProbability, damageTrust } from './damage.js';
import { estimateNoiseLevel } from './noise-level.js';

/**
 * Pixels by which detected damage is grown before it is restored. Growing it by 1 px measured 1.2 dB
 * worse on synthetic old photos: the detector's false alarms, grown, take texture the solve then
 * fills smoothly (docs/ALGORITHM.md, "Old photos: one operator").
 */
export const MASK_DILATE = 0;

/** Below this std (px) a photo counts as sharp and its operator gets no blur. */
export const MIN_BLUR_STD = 0.3;

export interface OldPhotoEstimate {
  /** h*w observed weights (1 = observed, 0 = damaged, between: trusted less), the engine's mask convention. */
  observed: Float64Array;
  /** Share of the pixels marked damaged (for detected damage: those `detect` marks). */
  damaged: number;
  sigmaY: number;
  /** Std (px) of the Gaussian blur; 0 when the photo reads sharp. */
  blurStd: number;
  /** The blur for the operator, absent when the photo reads sharp (or none was given). */
  kernel?: KernelSpec;
  /** Which of the three were estimated rather than given. */
  estimated: { mask: boolean; sigmaY: boolean; kernel: boolean };
}

export interface OldPhotoGiven {
  /** The damage as observed weights; detected when absent. */
  observed?: Float64Array;
  sigmaY?: number;
  /** A known blur, or null for none; estimated when undefined. */
  kernel?: KernelSpec | null;
  /** Damage detection's sensitivity, 0..1. */
  sensitivity?: number;
  /** Pixels by which detected damage is grown; MASK_DILATE by default. */
  dilate?: number;
  /**
   * Detected damage as soft weights (damage.ts damageTrust: pixels the detector is unsure of
   * trusted less), the default; false for the hard mask that `detect` draws.
   */
  softDamage?: boolean;
}

export function estimateOldPhoto(image: Img, given: OldPhotoGiven = {}): OldPhotoEstimate {
  const hw = image.h * image.w;
  const thresholds = { ...DAMAGE_THRESHOLDS, dilate: given.dilate ?? MASK_DILATE };
  let observed = given.observed;
  let missing = 0;
  if (observed) {
    for (const m of observed) if (isMissing(m)) missing++;
  } else {
    const sensitivity = given.sensitivity ?? 0.5;
    const prob = damageProbability(image);
    const hard = damageMask(prob, image.h, image.w, sensitivity, thresholds);
    observed = given.softDamage === false ? Float64Array.from(hard.damaged, (d) => 1 - d) : damageTrust(prob, image.h, image.w, sensitivity, thresholds);
    // What `detect` would mark: the pixels restored entirely.
    missing = Math.round(hard.fraction * hw);
  }
  const sigmaY = given.sigmaY ?? estimateNoiseLevel(image).sigma;
  let blurStd = 0;
  let kernel: KernelSpec | undefined;
  if (given.kernel === undefined) {
    const known = Uint8Array.from(observed, (m) => (isMissing(m) ? 0 : 1));
    const filled = missing > 0 ? { ...image, data: harmonicFill(image.data, known, image.c, image.h, image.w) } : image;
    blurStd = estimateBlurWidth(filled).std;
    if (blurStd >= MIN_BLUR_STD) kernel = { type: 'gaussian', std: Math.round(blurStd * 100) / 100 };
    else blurStd = 0;
  } else if (given.kernel) {
    kernel = given.kernel;
    blurStd = given.kernel.type === 'gaussian' ? given.kernel.std : NaN;
  }
  return {
    observed,
    damaged: missing / hw,
    sigmaY,
    blurStd,
    kernel,
    estimated: { mask: !given.observed, sigmaY: given.sigmaY === undefined, kernel: given.kernel === undefined },
  };
}
