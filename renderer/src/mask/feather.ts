/**
 * Feather: a soft edge of n pixels outside the fully marked pixels (level 255), whose levels fall
 * linearly with the Euclidean distance d to the nearest of them, 255 * (1 - d / (n + 1)), from 255
 * on them to 0 at n + 1 pixels and beyond. Outward, so that every pixel painted to be restored still
 * is, whole, and the ramp only blends the restoration into the photo round it. A pixel keeps its
 * own level when that is higher (earlier soft levels are not lowered), so feathering twice by the
 * same n changes nothing the second time.
 *
 * The levels reach the engine as observed weights 1 - level / 255 (engine/photo/user-mask.ts).
 */
import { squaredDistances } from './distance';
import { boundsWhere, widen } from './morphology';
import { FULL } from './raster';

/** The feathered plane (a new one); n < 1 leaves it as it is. */
export function feather(levels: Uint8Array, w: number, h: number, n: number): Uint8Array {
  const out = levels.slice();
  const width = Math.floor(n);
  const full = boundsWhere(levels, w, h, (v) => v === FULL);
  if (!full || width < 1) return out;
  const r = widen(full, width, w, h);
  const d2 = squaredDistances(w, r, (i) => levels[i] === FULL);
  const reach = width + 1;
  for (let y = 0; y < r.h; y++) {
    for (let x = 0; x < r.w; x++) {
      const d = Math.sqrt(d2[y * r.w + x]!);
      if (d >= reach) continue;
      const i = (r.y + y) * w + r.x + x;
      const level = Math.round(FULL * (1 - d / reach));
      if (level > out[i]!) out[i] = level;
    }
  }
  return out;
}
