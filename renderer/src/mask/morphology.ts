/**
 * Grow and shrink: grey-level dilation and erosion by an exact Euclidean disc of radius n, the
 * structuring element {(dx, dy) : dx^2 + dy^2 <= n^2} (so growing one pixel by 1 gives a plus of 5
 * pixels, by 2 a disc of 13). Grey, because a feathered mask holds soft levels: growing takes each
 * pixel to the largest level within n pixels of it, shrinking to the smallest, so a feathered edge
 * moves out or in with its ramp kept; on a mask of 0 and 255 they are the binary operations.
 *
 * Computed by threshold decomposition: for each level t present, the set of pixels at t or above is
 * grown (or shrunk) exactly through its distance transform (distance.ts), once per distinct level;
 * a painted mask has one level, a feathered one a few. The work is confined to the marked pixels'
 * bounding box, widened by what can change. Outside the photo counts for nothing: growing does not
 * come in from the border, and shrinking does not eat a mask that reaches it (the photo's edge is
 * not the mask's).
 */
import { squaredDistances } from './distance';
import type { Rect } from './rect';

/** The bounding box of the pixels where `test` holds, or undefined when there are none. */
export function boundsWhere(levels: Uint8Array, w: number, h: number, test: (v: number) => boolean): Rect | undefined {
  let x0 = w;
  let x1 = -1;
  let y0 = h;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      if (test(levels[row + x]!)) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y0 > y) y0 = y;
    y1 = y;
    if (x0 > first) x0 = first;
    if (x1 < last) x1 = last;
  }
  return y1 < 0 ? undefined : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** `r` widened by `by` pixels on every side, clipped to the w x h plane. */
export function widen(r: Rect, by: number, w: number, h: number): Rect {
  const x = Math.max(0, r.x - by);
  const y = Math.max(0, r.y - by);
  return { x, y, w: Math.min(w, r.x + r.w + by) - x, h: Math.min(h, r.y + r.h + by) - y };
}

/** The distinct non-zero levels inside `r`, in increasing order. */
function levelsIn(levels: Uint8Array, w: number, r: Rect): number[] {
  const seen = new Uint8Array(256);
  for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) seen[levels[y * w + x]!] = 1;
  const out: number[] = [];
  for (let t = 1; t < 256; t++) if (seen[t]) out.push(t);
  return out;
}

/** Each pixel becomes the largest level within n pixels (Euclidean) of it. Returns a new plane. */
export function grow(levels: Uint8Array, w: number, h: number, n: number): Uint8Array {
  const out = levels.slice();
  const marked = boundsWhere(levels, w, h, (v) => v > 0);
  const radius = Math.floor(n);
  if (!marked || radius <= 0) return out;
  const r = widen(marked, radius, w, h);
  const n2 = radius * radius;
  for (const t of levelsIn(levels, w, r)) {
    // Nested sets: a pixel within reach of level t takes t, and a later (higher) level overrides it.
    const d2 = squaredDistances(w, r, (i) => levels[i]! >= t);
    for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) if (d2[y * r.w + x]! <= n2) out[(r.y + y) * w + r.x + x] = t;
  }
  return out;
}

/** Each pixel becomes the smallest level within n pixels (Euclidean) of it, among the photo's pixels. Returns a new plane. */
export function shrink(levels: Uint8Array, w: number, h: number, n: number): Uint8Array {
  const out = levels.slice();
  const marked = boundsWhere(levels, w, h, (v) => v > 0);
  const radius = Math.floor(n);
  if (!marked || radius <= 0) return out;
  // A ring of unmarked pixels round the box (where it is inside the photo) is as near as any beyond it.
  const r = widen(marked, 1, w, h);
  const n2 = radius * radius;
  for (let y = r.y; y < r.y + r.h; y++) out.fill(0, y * w + r.x, y * w + r.x + r.w);
  for (const t of levelsIn(levels, w, r)) {
    // A pixel keeps level t when nothing below t is within reach; the sets below t grow with t.
    const d2 = squaredDistances(w, r, (i) => levels[i]! < t);
    for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) if (d2[y * r.w + x]! > n2) out[(r.y + y) * w + r.x + x] = t;
  }
  return out;
}
