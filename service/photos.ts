/**
 * The pixel work main asks the service for outside restoration jobs, so that main never decodes or
 * encodes an image: a display copy of a photo Chromium cannot show (TIFF), the decoding of a mask
 * file the person chose, and the writing of a painted mask.
 */
import sharp from 'sharp';
import { FileChangedError, identityFromWire, readSameFile } from '../common/file-identity.js';
import type { ToService } from '../common/service-protocol.js';
import { readMask, writeImage } from '../engine/photo/image.js';
import { restoreFlagsFromObserved } from '../engine/photo/user-mask.js';
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

/** The chosen mask file at the image's size, as the page paints it: one byte per pixel, 1 = restore. */
export async function maskOf(msg: Message<'read-mask'>): Promise<Uint8Array> {
  return restoreFlagsFromObserved(await readMask(msg.path, msg.width, msg.height));
}

/** Writes a painted mask (non-zero = restore) as a black and white PNG; returns the path. */
export async function writeMask(msg: Message<'write-mask'>): Promise<string> {
  const { width: w, height: h, mask } = msg;
  if (mask.length !== w * h) throw new UserError(`the mask has ${mask.length} pixels, not ${w}x${h}`);
  await writeImage(msg.path, { c: 1, h, w, data: Float64Array.from(mask, (v) => (v ? 1 : 0)) }, { protect: msg.protect });
  return msg.path;
}
