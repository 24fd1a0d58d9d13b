/**
 * A photo restored as a file holds it: the engine's job on its pixels, with the photo's alpha
 * carried to the result (upscaled with it for super-resolution) and its bit depth kept for
 * writing. The CLI and the inference service both restore photos through this.
 */
import { restore } from '../job/restore.js';
import type { RestoreJob, RestoreResult, RunOptions } from '../job/types.js';
import type { Denoiser } from '../model/denoiser.js';
import { resultAlpha } from './alpha.js';
import type { ImageFile } from './image.js';

export interface RestoredPhoto {
  result: RestoreResult;
  /** The photo's alpha at the result's size, when it has one. */
  alpha?: Float64Array;
  bitDepth: 8 | 16;
}

export async function restorePhoto(model: Denoiser, file: ImageFile, job: Omit<RestoreJob, 'image'>, opts: RunOptions = {}): Promise<RestoredPhoto> {
  const result = await restore(model, { ...job, image: file.image }, opts);
  const alpha = file.alpha && resultAlpha(file.alpha, file.image, result.image);
  return { result, alpha, bitDepth: file.bitDepth };
}
