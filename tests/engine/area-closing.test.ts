import { describe, expect, it } from 'vitest';
import { areaClosing } from '../../engine/estimate/area-closing.js';
import { Rng } from '../../engine/solvers/common.js';

/** The definition: the lowest v >= f(x) whose 4-connected component of {f <= v} holding x has at least `area` pixels. */
function bruteForce(f: Float32Array, h: number, w: number, area: number): Float32Array {
  const levels = [...new Set(f)].sort((a, b) => a - b);
  const out = new Float32Array(f.length);
  for (let x = 0; x < f.length; x++) {
    out[x] = levels[levels.length - 1]!;
    for (const v of levels) {
      if (v < f[x]!) continue;
      const seen = new Uint8Array(f.length);
      const stack = [x];
      seen[x] = 1;
      let count = 0;
      while (stack.length) {
        const p = stack.pop()!;
        count++;
        const y = Math.floor(p / w);
        const c = p % w;
        for (const q of [c > 0 ? p - 1 : -1, c < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1])
          if (q >= 0 && !seen[q] && f[q]! <= v) {
            seen[q] = 1;
            stack.push(q);
          }
      }
      if (count >= area) {
        out[x] = v;
        break;
      }
    }
  }
  return out;
}

describe('areaClosing', () => {
  it('equals the definition on random maps, with ties', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 40; t++) {
      const h = 3 + Math.floor(rng.uniform() * 9);
      const w = 3 + Math.floor(rng.uniform() * 9);
      const levels = 2 + Math.floor(rng.uniform() * 6);
      const f = Float32Array.from({ length: h * w }, () => Math.floor(rng.uniform() * levels) / (levels - 1));
      const area = 1 + Math.floor(rng.uniform() * 12);
      expect(Array.from(areaClosing(f, h, w, area))).toEqual(Array.from(bruteForce(f, h, w, area)));
    }
  });

  it('fills the inside of a ring smaller than the area and leaves a larger one and the background', () => {
    const h = 40;
    const w = 40;
    const f = new Float32Array(h * w).fill(0.05);
    const ring = (cy: number, cx: number, r: number, level: number) => {
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const d = Math.hypot(y - cy, x - cx);
          if (Math.abs(d - r) < 0.8) f[y * w + x] = level;
        }
    };
    ring(10, 10, 4, 0.9); // inside: about 40 pixels
    ring(26, 26, 10, 0.7); // inside: about 300 pixels
    const out = areaClosing(f, h, w, 100);
    expect(out[10 * w + 10]).toBeCloseTo(0.9, 6);
    expect(out[26 * w + 26]).toBeCloseTo(0.05, 6);
    expect(out[0]).toBeCloseTo(0.05, 6);
    // Extensive and idempotent.
    for (let i = 0; i < f.length; i++) expect(out[i]).toBeGreaterThanOrEqual(f[i]!);
    expect(Array.from(areaClosing(out, h, w, 100))).toEqual(Array.from(out));
  });
});
