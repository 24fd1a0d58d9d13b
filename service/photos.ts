/**
 * The pixel work main asks the service for outside restoration jobs, so that main never decodes or
 * encodes an image: a display copy of a photo Chromium cannot show (TIFF), the decoding of a mask
 * file the person chose, the writing of a painted mask, and what the photo itself says about its
 * damage, grain, blur and colour (engine/estimate/).
 */
import sharp from 'sharp';
import type { PhotoEstimate } from '../common/api.js';
import { FileChangedError, identityFromWire, readSameFile } from '../common/file-identity.js';
import type { ToService } from '../common/service-protocol.js';
import { damageProbability, damageTrust } from '../engine/estimate/damage.js';
import { detectGreyscale } from '../engine/estimate/greyscale.js';
import { estimateNoiseLevel } from '../engine/estimate/noise-level.js';
import { estimateOldPhoto } from '../engine/estimate/old-photo.js';
import { readImage, readMask, writeImage } from '../engine/photo/image.js';
import { observedFromRestoreLevels, RESTORE_LEVEL, restoreLevelsFromObserved } from '../engine/photo/user-mask.js';
import { fsReason } from '../engine/photo/regular-file.js';
import { UserError } from '../engine/types.js';

type Message<T extends ToService['type']> = Extract<ToService, { type: T }>;

const firstLine = (e: unknown): string => (String((e as Error)?.message ?? e).split('\n')[0] ?? '').trim().replace(/:$/, '') || 'unknown error';

/**
 * PNG bytes of the registered photo, EXIF orientation applied. Reads the file through a handle
 * checked against the identity main registered (FileChangedError when it is another file now).
 */
export async function displayCopy(msg: Message<'display'>): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readSameFile(msg.path, identityFromWire(msg.identity), msg.name);
  } catch (e) {
    if (e instanceof FileChangedError) throw e;
    throw new UserError(`cannot show ${msg.name}: ${fsReason(e, 'the file no longer exists')}`);
  }
  try {
    const png = await sharp(bytes, { failOn: 'error', limitInputPixels: msg.maxPixels }).rotate().png({ compressionLevel: 1 }).toBuffer();
    // Structured clone sends a view's whole ArrayBuffer: a view into a larger one is copied first.
    return png.byteOffset === 0 && png.byteLength === png.buffer.byteLength ? new Uint8Array(png.buffer) : new Uint8Array(png);
  } catch (e) {
    throw new UserError(`cannot show ${msg.name}: ${firstLine(e)}`);
  }
}

/**
 * The chosen mask file at the image's size, as the page paints it: one level per pixel, 255 =
 * restore, its grey levels kept (a feathered edge exported before comes back soft).
 */
export async function maskOf(msg: Message<'read-mask'>): Promise<Uint8Array> {
  return restoreLevelsFromObserved(await readMask(msg.path, msg.width, msg.height, { grey: true }));
}

/** Writes a painted mask (levels, 255 = restore) as a grey PNG, white = restore; returns the path. */
export async function writeMask(msg: Message<'write-mask'>): Promise<string> {
  const { width: w, height: h, mask } = msg;
  if (mask.length !== w * h) throw new UserError(`the mask has ${mask.length} pixels, not ${w}x${h}`);
  await writeImage(msg.path, { c: 1, h, w, data: Float64Array.from(mask, (v) => v / RESTORE_LEVEL) }, { protect: msg.protect });
  return msg.path;
}

/** Damage found on the photo, as the page paints it: one level per pixel, 255 = restore. */
export async function damageOf(msg: Message<'detect-damage'>): Promise<Uint8Array> {
  const { image } = await readImage(msg.path, { maxPixels: msg.maxPixels });
  // The weights the CLI's old-photo restore uses: 255 where `detect` marks, soft levels where the
  // detector is unsure (engine/estimate/damage.ts damageTrust), so the app restores alike.
  return restoreLevelsFromObserved(damageTrust(damageProbability(image), image.h, image.w, msg.sensitivity));
}

/**
 * The photo's grain, blur and colour (greyscale: a grey or toned print, engine/estimate/greyscale.ts),
 * each left out (with the reason) when the photo cannot give it. The blur is read as
 * engine/estimate/old-photo.ts reads it: with the damage filled in, the painted mask standing for
 * the damage when there is one, detected damage otherwise.
 */
export async function estimateOf(msg: Message<'estimate'>): Promise<PhotoEstimate> {
  const file = await readImage(msg.path, { maxPixels: msg.maxPixels });
  const { image } = file;
  if (msg.mask && msg.mask.length !== image.h * image.w) {
    throw new UserError(`the mask is ${msg.mask.length} pixels but the image has ${image.h * image.w}; open the image again`);
  }
  const notes: string[] = [];
  const attempt = <T>(what: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notes.push(`${what}: ${e.message}`);
      return undefined;
    }
  };
  const sigmaY = attempt('noise', () => estimateNoiseLevel(image).sigma);
  const observed = msg.mask ? observedFromRestoreLevels(msg.mask) : undefined;
  const old = attempt('blur', () => estimateOldPhoto(image, { observed, sigmaY: sigmaY ?? 0, sensitivity: msg.sensitivity }));
  return {
    ...(sigmaY !== undefined ? { sigmaY } : {}),
    ...(old ? { blurStd: old.blurStd } : {}),
    greyscale: file.grey || detectGreyscale(image).greyscale,
    damaged: old?.damaged ?? 0,
    notes,
  };
}
