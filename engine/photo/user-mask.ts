/**
 * A person's mask marks the pixels to RESTORE (white in a mask image, 255 in the page's painted
 * levels); inside the engine a mask is the opposite, observed weights (1 = observed, 0 = missing),
 * which is what the Mask operator multiplies by. This module is the one place that converts
 * between the two, with one threshold rule each way for files the CLI reads and writes.
 *
 * The page's levels are one byte per pixel, 0 = keep, 255 = restore, and soft in between (a
 * feathered edge): level l is the observed weight 1 - l / 255, and back. A soft weight acts in the
 * solve as a per-pixel weight of the measurement (engine/operators/mask.ts); one below a half counts
 * as missing (isMissing), and any below 1 is given the solve's value (needsSolve). Binary restore
 * flags (1 = restore) remain for the bench and the tests, whose masks have no soft pixels.
 */
import { UserError, type Img } from '../types.js';

/** A mask image pixel brighter than this (luma times alpha, in [0, 1]) marks a pixel to restore. */
export const RESTORE_THRESHOLD = 0.5;

/** An observed weight below one half is a missing pixel (one the solve fills in). */
export const isMissing = (weight: number): boolean => weight < 0.5;

/**
 * A pixel the solve gives a value to: any not fully observed. Inpainting by region solves windows
 * round these and copies every other pixel from the photo bit for bit (engine/job/run.ts).
 */
export const needsSolve = (weight: number): boolean => weight < 1;

/** The page's full level: a pixel wholly to restore. */
export const RESTORE_LEVEL = 255;

export function countMissing(observed: ArrayLike<number>): number {
  let n = 0;
  for (let p = 0; p < observed.length; p++) if (isMissing(observed[p]!)) n++;
  return n;
}

/** Observed weights from binary restore flags (non-zero = restore), as the bench and the engine's tests write masks. */
export function observedFromRestoreFlags(flags: ArrayLike<number>): Float64Array {
  return Float64Array.from(flags as ArrayLike<number>, (v) => (v ? 0 : 1));
}

/** Binary restore flags (1 = restore) from observed weights: the missing pixels (the bench's masks for the Python baselines and F1). */
export function restoreFlagsFromObserved(observed: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(observed as ArrayLike<number>, (v) => (isMissing(v) ? 1 : 0));
}

/** Observed weights from the page's painted levels (0 = keep, 255 = restore): 1 - level / 255. */
export function observedFromRestoreLevels(levels: ArrayLike<number>): Float64Array {
  return Float64Array.from(levels as ArrayLike<number>, (v) => 1 - Math.min(RESTORE_LEVEL, Math.max(0, v)) / RESTORE_LEVEL);
}

/** The page's levels (255 = restore) from observed weights, rounded to the nearest level. */
export function restoreLevelsFromObserved(observed: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(observed as ArrayLike<number>, (v) => Math.round(RESTORE_LEVEL * (1 - Math.min(1, Math.max(0, v)))));
}

/** A one-channel mask image to save, white where pixels are missing (what a person paints). */
export function restoreImageFromObserved(observed: Float64Array, h: number, w: number): Img {
  return { c: 1, h, w, data: Float64Array.from(observed, (v) => (isMissing(v) ? 1 : 0)) };
}

/** Interleaved 8-bit pixels as a canvas ImageData or sharp's raw output give them: grey, grey+alpha, RGB or RGBA. */
export interface Interleaved8 {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/**
 * Observed-pixel mask (h*w, 1 = observed, 0 = to restore) from a mask image in which white means
 * "restore". Brightness is the Rec. 601 luma of the colour channels times alpha, i.e. the image
 * composited over black, so both an opaque black-and-white mask and white strokes on a transparent
 * layer work. Pixels brighter than the threshold (in [0, 1]) are restored.
 *
 * Accepts the engine's planar Img in [0, 1] (1 to 4 channels) or interleaved 8-bit data.
 * `threshold: 'grey'` keeps grey levels instead: the observed weight is 1 - brightness, so a soft
 * edge saved from the page's painter reads back as it was.
 */
export function maskFromRestoreImage(image: Img | Interleaved8, threshold: number | 'grey' = RESTORE_THRESHOLD): Float64Array {
  const planar = 'c' in image;
  const h = planar ? image.h : image.height;
  const w = planar ? image.w : image.width;
  const hw = h * w;
  const channels = planar ? image.c : image.data.length / Math.max(hw, 1);
  if (!(hw > 0) || ![1, 2, 3, 4].includes(channels) || image.data.length !== channels * hw) {
    throw new UserError(`the mask image must have 1 to 4 channels of ${w}x${h} pixels; got ${image.data.length} values`);
  }
  const scale = planar ? 1 : 1 / 255;
  // Planar keeps a channel's pixels together, interleaved keeps a pixel's channels together.
  const at = planar ? (p: number, c: number): number => image.data[c * hw + p] * scale : (p: number, c: number): number => image.data[p * channels + c] * scale;
  const hasColour = channels >= 3;
  const hasAlpha = channels === 2 || channels === 4;
  const observed = new Float64Array(hw);
  for (let p = 0; p < hw; p++) {
    const luma = hasColour ? 0.299 * at(p, 0) + 0.587 * at(p, 1) + 0.114 * at(p, 2) : at(p, 0);
    const alpha = hasAlpha ? at(p, channels - 1) : 1;
    const restore = Math.min(1, Math.max(0, luma * alpha));
    observed[p] = threshold === 'grey' ? 1 - restore : restore > threshold ? 0 : 1;
  }
  return observed;
}
