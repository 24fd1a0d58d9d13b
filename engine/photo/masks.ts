/**
 * Synthetic damage for evaluation, as the engine's observed weights (1 = observed, 0 = missing):
 * thin random scratches like those on old prints, strokes as a person paints them, and a centred
 * square hole. engine/photo/user-mask.ts turns them into mask images a person would paint.
 */
import { Rng } from '../solvers/common.js';

/** Random strokes of 1-3 px width until about `coverage` of the pixels are covered. */
export function scratchesObserved(h: number, w: number, seed: number, coverage = 0.08): Float64Array {
  return strokes(h, w, new Rng(seed), coverage, (rng) => 0.5 + rng.uniform());
}

/**
 * Strokes as a person paints over damage with a brush: 12 to 28 px wide, random gently curving paths,
 * until 8 to 18% of the pixels (drawn per seed) are covered.
 */
export function paintedObserved(h: number, w: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const coverage = 0.08 + 0.1 * rng.uniform();
  return strokes(h, w, rng, coverage, (r) => 6 + 8 * r.uniform());
}

function strokes(h: number, w: number, rng: Rng, coverage: number, radius: (rng: Rng) => number): Float64Array {
  const m = new Float64Array(h * w).fill(1);
  let covered = 0;
  const target = coverage * h * w;
  for (let guard = 0; covered < target && guard < 10_000; guard++) {
    let y = rng.uniform() * h;
    let x = rng.uniform() * w;
    let angle = rng.uniform() * Math.PI * 2;
    const len = (0.15 + 0.5 * rng.uniform()) * Math.max(h, w);
    const r = radius(rng);
    for (let s = 0; s < len && covered < target; s += 0.5) {
      angle += (rng.uniform() - 0.5) * 0.1;
      y += 0.5 * Math.sin(angle);
      x += 0.5 * Math.cos(angle);
      for (let dy = Math.floor(y - r); dy <= Math.ceil(y + r); dy++)
        for (let dx = Math.floor(x - r); dx <= Math.ceil(x + r); dx++) {
          if (dy < 0 || dy >= h || dx < 0 || dx >= w) continue;
          if ((dy - y) ** 2 + (dx - x) ** 2 > r * r) continue;
          if (m[dy * w + dx] === 1) {
            m[dy * w + dx] = 0;
            covered++;
          }
        }
    }
  }
  return m;
}

export function holeObserved(h: number, w: number, size = 48): Float64Array {
  const m = new Float64Array(h * w).fill(1);
  const y0 = Math.max(0, Math.floor((h - size) / 2));
  const x0 = Math.max(0, Math.floor((w - size) / 2));
  for (let y = y0; y < Math.min(h, y0 + size); y++) for (let x = x0; x < Math.min(w, x0 + size); x++) m[y * w + x] = 0;
  return m;
}
