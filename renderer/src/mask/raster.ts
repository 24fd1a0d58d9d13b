/**
 * Mask painting as arithmetic on a byte plane (h*w, 1 = restore, 0 = keep), independent of any
 * canvas: the canvas only shows the plane, so what is exported and sent to the engine is exactly
 * what the strokes set, and the painting logic is testable without a browser.
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export const EMPTY_RECT: Rect = { x: 0, y: 0, w: 0, h: 0 };

export function union(a: Rect, b: Rect): Rect {
  if (a.w <= 0 || a.h <= 0) return b;
  if (b.w <= 0 || b.h <= 0) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

/**
 * Sets every pixel whose centre lies within `radius` of (cx, cy), in image pixel coordinates
 * (pixel i covers [i, i+1)). Returns the rectangle it touched, clipped to the image.
 */
export function stampDisc(mask: Uint8Array, w: number, h: number, cx: number, cy: number, radius: number, value: 0 | 1): Rect {
  const r = Math.max(0.5, radius);
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(w - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(h - 1, Math.ceil(cy + r));
  if (x0 > x1 || y0 > y1) return EMPTY_RECT;
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    const row = y * w;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) mask[row + x] = value;
    }
  }
  return { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** A brush segment: discs spaced closely enough that the stroke has no gaps at any speed. */
export function strokeSegment(mask: Uint8Array, w: number, h: number, from: { x: number; y: number }, to: { x: number; y: number }, radius: number, value: 0 | 1): Rect {
  const dist = Math.hypot(to.x - from.x, to.y - from.y);
  const spacing = Math.max(0.5, radius / 4);
  const n = Math.max(1, Math.ceil(dist / spacing));
  let rect = EMPTY_RECT;
  for (let i = dist === 0 ? n : 1; i <= n; i++) {
    const t = i / n;
    rect = union(rect, stampDisc(mask, w, h, from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, radius, value));
  }
  return rect;
}

export function copyRect(mask: Uint8Array, w: number, r: Rect): Uint8Array {
  const out = new Uint8Array(r.w * r.h);
  for (let y = 0; y < r.h; y++) out.set(mask.subarray((r.y + y) * w + r.x, (r.y + y) * w + r.x + r.w), y * r.w);
  return out;
}

export function pasteRect(mask: Uint8Array, w: number, r: Rect, data: Uint8Array): void {
  for (let y = 0; y < r.h; y++) mask.set(data.subarray(y * r.w, (y + 1) * r.w), (r.y + y) * w + r.x);
}

export function invertInPlace(mask: Uint8Array): void {
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] ? 0 : 1;
}

export function countSet(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] ? 1 : 0;
  return n;
}
