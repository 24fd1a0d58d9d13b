/**
 * The operators' starting estimates (docs/ALGORITHM.md, "Starting estimates"): consistent with y where
 * the operator allows it exactly, the classical answer each one names, and never worse than A^+ y on a
 * smooth image.
 */
import { describe, expect, it } from 'vitest';
import { bicubicUpsample } from '../../engine/operators/bicubic-upsample.js';
import { harmonicFill } from '../../engine/operators/harmonic-fill.js';
import { BoxDownsample, bicubicDownsample, blur, boxDownsample, compose, gaussianKernel, identity, luma, mask } from '../../engine/operators/index.js';
import { randn, relErr, rng } from './helpers.js';

/** A smooth colour image: sums of low-frequency waves, in [0, 1]. */
function smooth(h: number, w: number): Float64Array {
  const x = new Float64Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) x[(c * h + i) * w + j] = 0.5 + 0.2 * Math.sin((i + 3 * c) / 5) * Math.cos(j / 7) + 0.1 * Math.sin((i + j) / 9);
  return x;
}

/** Squares of 8 pixels in three grey levels per channel: edges a blur visibly softens. */
function blocks(h: number, w: number): Float64Array {
  return Float64Array.from({ length: 3 * h * w }, (_, k) => {
    const c = Math.floor(k / (h * w));
    const i = Math.floor((k % (h * w)) / w);
    const j = k % w;
    return 0.2 + 0.3 * ((Math.floor(i / 8) + Math.floor(j / 8) + c) % 3);
  });
}

const mse = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length;

describe('starting estimates', () => {
  it('mask: observed pixels kept exactly (A x0 = y), holes harmonic (each pixel the mean of its neighbours)', () => {
    const s = { c: 3, h: 23, w: 19 };
    const u = rng(4);
    const m = Float64Array.from({ length: s.h * s.w }, () => (u() < 0.6 ? 1 : 0));
    for (let i = 5; i < 15; i++) for (let j = 4; j < 13; j++) m[i * s.w + j] = 0; // a 10x9 hole too
    const op = mask(s, m);
    const x = smooth(s.h, s.w);
    const y = op.forward(x);
    const { x: x0, noise } = op.estimate(y, 0.01);
    expect(noise).toBe(0.01);
    expect(relErr(op.forward(x0), y)).toBe(0);
    let worst = 0;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < s.h; i++)
        for (let j = 0; j < s.w; j++) {
          if (m[i * s.w + j]) continue;
          const nb = [
            [i - 1, j],
            [i + 1, j],
            [i, j - 1],
            [i, j + 1],
          ].filter(([a, b]) => a >= 0 && a < s.h && b >= 0 && b < s.w);
          const avg = nb.reduce((acc, [a, b]) => acc + x0[(c * s.h + a) * s.w + b], 0) / nb.length;
          worst = Math.max(worst, Math.abs(x0[(c * s.h + i) * s.w + j] - avg));
        }
    expect(worst).toBeLessThan(1e-6);
    expect(mse(x0, x)).toBeLessThan(mse(op.pinv(y), x) / 20);
  });

  it('mask: soft weights keep A x0 = y; no observed pixel fills with mid-grey', () => {
    const s = { c: 1, h: 6, w: 5 };
    const w = Float64Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 0 : 0.25 + (i % 4) / 4));
    const op = mask(s, w);
    const y = op.forward(Float64Array.from(randn(30, 2), (v) => 0.5 + 0.1 * v));
    expect(relErr(op.forward(op.estimate(y, 0).x), y)).toBeLessThan(1e-15);
    const empty = mask(s, new Float64Array(30));
    expect([...empty.estimate(new Float64Array(30), 0).x].every((v) => v === 0.5)).toBe(true);
  });

  it('harmonic fill converges on a large hole (one observed ring)', () => {
    const h = 64;
    const w = 64;
    const known = new Uint8Array(h * w);
    const values = new Float64Array(h * w);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        if (i === 0 || j === 0 || i === h - 1 || j === w - 1) {
          known[i * w + j] = 1;
          values[i * w + j] = i / (h - 1); // a linear ramp: harmonic, so the fill is the ramp
        }
    const out = harmonicFill(values, known, 1, h, w);
    let worst = 0;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) worst = Math.max(worst, Math.abs(out[i * w + j] - i / (h - 1)));
    expect(worst).toBeLessThan(1e-4);
  });

  it('box and bicubic downsampling: back-projected bicubic, A x0 = y; for box closer than the blocky A^+ y', () => {
    const s = { c: 3, h: 48, w: 72 };
    const x = smooth(s.h, s.w);
    for (const op of [boxDownsample(s, 2), boxDownsample(s, 3), bicubicDownsample(s, 4)]) {
      const y = op.forward(x);
      const x0 = op.estimate(y, 0).x;
      expect(relErr(op.forward(x0), y)).toBeLessThan(1e-6);
      // Bicubic's A^+ y is already smooth: on the development photos the two agree to 0.01 dB.
      if (op instanceof BoxDownsample) expect(mse(x0, x)).toBeLessThan(mse(op.pinv(y), x) / 2);
    }
  });

  it('bicubic interpolation reproduces linear images away from the border, and constants everywhere', () => {
    const low = { c: 1, h: 8, w: 8 };
    const lin = Float64Array.from({ length: 64 }, (_, k) => 0.1 * (k % 8) + 0.05 * Math.floor(k / 8));
    const up = bicubicUpsample(lin, low, 2);
    // Output (i, j) sits at input coordinate ((i + 0.5)/2 - 0.5, (j + 0.5)/2 - 0.5).
    for (let i = 4; i < 12; i++) for (let j = 4; j < 12; j++) expect(up[i * 16 + j]).toBeCloseTo(0.1 * ((j + 0.5) / 2 - 0.5) + 0.05 * ((i + 0.5) / 2 - 0.5), 12);
    expect(bicubicUpsample(new Float64Array(64).fill(0.3), low, 3).every((v) => Math.abs(v - 0.3) < 1e-14)).toBe(true);
  });

  it('blur: the regularised inverse beats the blurred image and A^+ y on a noisy measurement', () => {
    const s = { c: 3, h: 32, w: 32 };
    const op = blur(s, gaussianKernel(1.5));
    const x = blocks(s.h, s.w);
    const noise = randn(3 * 32 * 32, 9);
    const y = op.forward(x).map((v, i) => v + 0.01 * noise[i]);
    const x0 = op.estimate(y, 0.01).x;
    expect(mse(x0, x)).toBeLessThan(mse(y, x));
    expect(mse(x0, x)).toBeLessThan(mse(op.pinv(y), x));
  });

  it('luma: the grey image, consistent and colourless (A^+ y is tinted green)', () => {
    const s = { c: 3, h: 5, w: 7 };
    const op = luma(s);
    const y = Float64Array.from(randn(35, 3), (v) => 0.5 + 0.2 * v);
    const x = op.estimate(y).x;
    expect(relErr(op.forward(x), y)).toBeLessThan(1e-15);
    for (let p = 0; p < 35; p++) expect([x[35 + p], x[70 + p]]).toEqual([x[p], x[p]]);
    const mp = op.pinv(y);
    expect(mp[35 + 3] / mp[3]).toBeCloseTo(0.587 / 0.299, 12);
  });

  it('identity: y itself, carrying the measurement noise', () => {
    const s = { c: 3, h: 4, w: 4 };
    const y = Float64Array.from(randn(48, 1));
    const e = identity(s).estimate(y, 0.05);
    expect([...e.x]).toEqual([...y]);
    expect(e.noise).toBe(0.05);
  });

  it('a chain estimates backwards: blur then mask fills the holes, then deblurs', () => {
    const s = { c: 3, h: 20, w: 20 };
    const u = rng(8);
    const m = Float64Array.from({ length: 400 }, () => (u() < 0.8 ? 1 : 0));
    const b = blur(s, gaussianKernel(1));
    const mk = mask(s, m);
    const chain = compose(b, mk);
    const x = smooth(20, 20);
    const y = chain.forward(x);
    const expected = b.estimate(mk.estimate(y, 0).x, 0).x;
    expect([...chain.estimate(y, 0).x]).toEqual([...expected]);
    expect(mse(chain.estimate(y, 0).x, x)).toBeLessThan(mse(y, x) / 4);
  });
});
