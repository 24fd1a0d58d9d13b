/**
 * A straight brush line: every pixel whose centre lies within `radius` of the segment a-b (a
 * capsule), in image pixel coordinates (pixel i covers [i, i+1)). Exact, whatever the length or
 * the angle: the brush's strokes and the shift-click line are both drawn with it.
 */
import { EMPTY_RECT, type Rect } from './rect';

type Pt = { x: number; y: number };

/** Sets the capsule's pixels to `value`; returns the rectangle it touched, clipped to the image. */
export function stampLine(mask: Uint8Array, w: number, h: number, a: Pt, b: Pt, radius: number, value: number): Rect {
  const r = Math.max(0.5, radius);
  const r2 = r * r;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const len = Math.sqrt(len2);
  const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - r));
  const y1 = Math.min(h - 1, Math.ceil(Math.max(a.y, b.y) + r));
  const xLo = Math.max(0, Math.floor(Math.min(a.x, b.x) - r));
  const xHi = Math.min(w - 1, Math.ceil(Math.max(a.x, b.x) + r));
  if (y0 > y1 || xLo > xHi) return EMPTY_RECT;
  let minX = w;
  let maxX = -1;
  let minY = h;
  let maxY = -1;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5;
    // The capsule lies inside the infinite strip of half-width r round the line: on this row the
    // strip is an interval, which bounds the pixels tested exactly below.
    let from = xLo;
    let to = xHi;
    if (len2 > 0 && dy !== 0) {
      const centre = a.x + ((py - a.y) * dx) / dy;
      const half = (r * len) / Math.abs(dy);
      from = Math.max(xLo, Math.floor(centre - half - 1));
      to = Math.min(xHi, Math.ceil(centre + half + 1));
    }
    const row = y * w;
    for (let x = from; x <= to; x++) {
      const px = x + 0.5;
      const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - a.x) * dx + (py - a.y) * dy) / len2)) : 0;
      const ex = px - (a.x + t * dx);
      const ey = py - (a.y + t * dy);
      if (ex * ex + ey * ey > r2) continue;
      mask[row + x] = value;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      maxY = y;
    }
  }
  return maxX < 0 ? EMPTY_RECT : { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 };
}
