/**
 * Filling a closed outline (the lasso's free-hand path, the polygon's corners) on the mask, with
 * the nonzero winding rule: a pixel is inside when the outline winds round its centre a non-zero
 * number of times. Nonzero rather than even-odd because a hand-drawn lasso often crosses itself or
 * goes round twice, and a person expects what they circled to be filled, not a hole where the loops
 * overlap. Pixel i covers [i, i+1) and is inside when its centre (i + 0.5) is, so a square with
 * corners on pixel boundaries covers exactly its pixels; centres on an edge follow the half-open
 * rule (left and top edges in, right and bottom out), so shapes that share an edge never both take
 * its pixels.
 */
import { EMPTY_RECT, type Rect } from './rect';

type Pt = { x: number; y: number };

/** Sets the pixels inside the closed outline `points` to `value`; returns the rectangle they span. */
export function fillPolygon(mask: Uint8Array, w: number, h: number, points: readonly Pt[], value: number): Rect {
  if (points.length < 3) return EMPTY_RECT;
  let top = Infinity;
  let bottom = -Infinity;
  for (const p of points) {
    top = Math.min(top, p.y);
    bottom = Math.max(bottom, p.y);
  }
  const y0 = Math.max(0, Math.ceil(top - 0.5));
  const y1 = Math.min(h - 1, Math.ceil(bottom - 0.5) - 1);
  const crossings: { x: number; dir: number }[] = [];
  let minX = w;
  let maxX = -1;
  let minY = h;
  let maxY = -1;
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const q = points[(i + 1) % points.length]!;
      // Half-open in y: an edge counts on rows whose centre is in [lower end, upper end).
      if (p.y <= cy && cy < q.y) crossings.push({ x: p.x + ((cy - p.y) * (q.x - p.x)) / (q.y - p.y), dir: 1 });
      else if (q.y <= cy && cy < p.y) crossings.push({ x: p.x + ((cy - p.y) * (q.x - p.x)) / (q.y - p.y), dir: -1 });
    }
    crossings.sort((a, b) => a.x - b.x);
    let winding = 0;
    for (let k = 0; k + 1 < crossings.length; k++) {
      winding += crossings[k]!.dir;
      if (winding === 0) continue;
      // Centres in [x_k, x_k+1): pixels ceil(x_k - 0.5) .. ceil(x_k+1 - 0.5) - 1.
      const from = Math.max(0, Math.ceil(crossings[k]!.x - 0.5));
      const to = Math.min(w - 1, Math.ceil(crossings[k + 1]!.x - 0.5) - 1);
      if (from > to) continue;
      mask.fill(value, y * w + from, y * w + to + 1);
      if (from < minX) minX = from;
      if (to > maxX) maxX = to;
      if (y < minY) minY = y;
      maxY = y;
    }
  }
  return maxX < 0 ? EMPTY_RECT : { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 };
}

/** The rectangle of pixels a fill of `points` may touch (its bounding box, clipped), to save before filling. */
export function polygonBounds(points: readonly Pt[], w: number, h: number): Rect {
  if (points.length < 3) return EMPTY_RECT;
  let left = Infinity;
  let right = -Infinity;
  let top = Infinity;
  let bottom = -Infinity;
  for (const p of points) {
    left = Math.min(left, p.x);
    right = Math.max(right, p.x);
    top = Math.min(top, p.y);
    bottom = Math.max(bottom, p.y);
  }
  const x0 = Math.max(0, Math.floor(left));
  const x1 = Math.min(w - 1, Math.ceil(right));
  const y0 = Math.max(0, Math.floor(top));
  const y1 = Math.min(h - 1, Math.ceil(bottom));
  return x0 > x1 || y0 > y1 ? EMPTY_RECT : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}
