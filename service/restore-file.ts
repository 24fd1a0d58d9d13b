/**
 * A batch's photo in the service: read, restored and written to its output, as the CLI's
 * `restore` and `batch` do it (cli/commands.ts openJob and restoreJob, on the same engine code):
 * the output checked before any work, the header read before the pixels are decoded, an old
 * photo's damage detected (the task's noise and blur as given), and the result written
 * atomically with the photo's metadata (EXIF, XMP, IPTC, GPS unless keepGps is false,
 * Orientation 1) at the photo's bit depth. An output that is already there as a readable image
 * is a photo done by an earlier run: skipped, as `vmlmap batch` skips it.
 */
import type { RestoreFileMessage } from '../common/service-protocol.js';
import { estimateOldPhoto } from '../engine/estimate/old-photo.js';
import type { Denoiser } from '../engine/model/denoiser.js';
import { checkImageOutput, openImage, writeImage } from '../engine/photo/image.js';
import { restorePhoto } from '../engine/photo/restore-photo.js';
import { CancelledError, type Progress, UserError } from '../engine/types.js';

/** An output that is there and opens as an image: done by an earlier run (cli/batch.ts alreadyDone). */
export async function alreadyDone(output: string): Promise<boolean> {
  try {
    await openImage(output, { maxPixels: Infinity, availableMemory: Infinity });
    return true;
  } catch {
    return false;
  }
}

export interface FileJobHooks {
  signal: AbortSignal;
  /** The model, loaded only when there is a photo to restore. */
  model: () => Promise<Denoiser>;
  onProgress: (p: Progress) => void;
}

export async function restoreFile(msg: RestoreFileMessage, hooks: FileJobHooks): Promise<'written' | 'skipped'> {
  if (await alreadyDone(msg.output)) return 'skipped';
  // Checked before any work: a bad output is not found after a long restore.
  await checkImageOutput(msg.output, msg.protect);
  const opened = await openImage(msg.input, { maxPixels: msg.maxPixels });
  const model = await hooks.model();
  if (hooks.signal.aborted) throw new CancelledError();
  const file = await opened.decode();
  let spec = msg.spec;
  let observed: Float64Array | undefined;
  if (spec.task === 'inpaint') throw new UserError('inpainting needs a mask painted on the photo; it cannot run in a batch');
  if (spec.task === 'old-photo') {
    // The damage is detected on each photo; the noise level and blur are the task's settings.
    const estimate = estimateOldPhoto(file.image, { sigmaY: spec.sigmaY, kernel: spec.kernel ?? null, sensitivity: msg.sensitivity });
    spec = { ...spec, sigmaY: estimate.sigmaY, kernel: estimate.kernel };
    observed = estimate.observed;
  }
  const { result, alpha, bitDepth } = await restorePhoto(model, file, { observed, spec, solver: msg.solver }, { signal: hooks.signal, stepProgress: true, onProgress: hooks.onProgress });
  if (hooks.signal.aborted) throw new CancelledError();
  await writeImage(msg.output, result.image, { alpha, bitDepth, protect: msg.protect, metadata: file.metadata, keepGps: msg.keepGps });
  return 'written';
}
