/**
 * Mask painting as arithmetic on a byte plane, independent of any canvas: the canvas only shows
 * the plane, so what is exported and sent to the engine is exactly what the strokes set, and the
 * painting logic is testable without a browser.
 *
 * The plane holds one level per pixel (h*w bytes): 255 = restore, 0 = keep, and in between the
 * soft levels of a feathered edge. This is the page's one mask convention, on the way to main and
 * the service too; the service turns a level into the engine's observed weight 1 - level / 255
 * (engine/photo/user-mask.ts). The brush, the eraser and the fills write 255 or 0.
 */
import { EMPTY_RECT, type Rect, union } from './rect';

export { EMPTY_RECT, type Rect, union };

/** A pixel fully to restore. */
export const FULL = 255;
/** The lowest level the engine counts as a pixel to restore (observed weight below one half). */
export const RESTORED = 128;

export function copyRect(mask: Uint8Array, w: number, r: Rect): Uint8Array {
  const out = new Uint8Array(r.w * r.h);
  for (let y = 0; y < r.h; y++) out.set(mask.subarray((r.y + y) * w + r.x, (r.y + y) * w + r.x + r.w), y * r.w);
  return out;
}

export function pasteRect(mask: Uint8Array, w: number, r: Rect, data: Uint8Array): void {
  for (let y = 0; y < r.h; y++) mask.set(data.subarray(y * r.w, (y + 1) * r.w), (r.y + y) * w + r.x);
}

/** Restore becomes keep and keep restore; a soft level l becomes 255 - l. Its own inverse. */
export function invertInPlace(mask: Uint8Array): void {
  for (let i = 0; i < mask.length; i++) mask[i] = FULL - mask[i]!;
}

/** How many pixels are marked at all (any level above 0), and how many the engine restores (RESTORED and above). */
export function countLevels(mask: Uint8Array): { marked: number; restored: number } {
  let marked = 0;
  let restored = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i]!;
    if (v > 0) marked++;
    if (v >= RESTORED) restored++;
  }
  return { marked, restored };
}

/** The smallest rectangle holding every pixel where `a` and `b` differ (an empty one when none). */
export function changedRect(a: Uint8Array, b: Uint8Array, w: number, h: number): Rect {
  let rect: Rect = { x: 0, y: 0, w: 0, h: 0 };
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      if (a[row + x] !== b[row + x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) rect = union(rect, { x: first, y, w: last - first + 1, h: 1 });
  }
  return rect;
}
