import { describe, expect, it } from 'vitest';
import { crop, pad, padAdjoint, zeroPad } from '../../engine/model/pad.js';
import { dot, Rng } from '../../engine/solvers/common.js';

describe('padding to the model size multiple', () => {
  for (const [h, w, H, W] of [
    [37, 31, 40, 32],
    [5, 3, 16, 16],
    [8, 8, 8, 8],
  ]) {
    it(`symmetric pad ${h}x${w} -> ${H}x${W} has an exact adjoint, and crop is zero-padding's adjoint`, () => {
      const s = { c: 3, h, w };
      const rng = new Rng(h * 100 + w);
      const x = rng.normals(3 * h * w);
      const y = rng.normals(3 * H * W);
      const lhs = dot(pad(x, s, H, W), y);
      const rhs = dot(x, padAdjoint(y, s, H, W));
      expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-12);
      expect(Math.abs(dot(zeroPad(x, s, H, W), y) - dot(x, crop(y, s, H, W)))).toBeLessThan(1e-9);
      expect(crop(pad(x, s, H, W), s, H, W)).toEqual(x);
    });
  }
});
