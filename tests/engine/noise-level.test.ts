/**
 * The noise level from the photo itself (engine/estimate/noise-level.ts): white Gaussian noise of
 * known sigma added to synthetic scenes and to a real photo is found within tolerances set by
 * bench/studies/noise-level.ts (docs/ALGORITHM.md, "Noise level from the photo"); a clean smooth
 * image reads near 0; clipped regions do not pull the estimate down; the result is deterministic;
 * an image too small for the patches is refused with a clear UserError.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimateNoiseLevel, MIN_PATCHES, NOISE_PATCH } from '../../engine/estimate/noise-level.js';
import { readImage } from '../../engine/photo/image.js';
import { type Img, UserError } from '../../engine/types.js';
import { randn } from './helpers.js';

const PHOTO = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg'; // python-matplotlib-data, installed by .ci/run

/**
 * Smooth gradients and a slow sinusoid, with a bright bar, a dark disc and a band of opposite slope
 * (a few edges), and a corner of fine woven texture that a noise estimator must not take for noise.
 */
function scene(h: number, w: number): Img {
  const data = new Float64Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = 0.2 + (0.5 * x) / w + 0.1 * c + 0.08 * Math.sin(y / 17 + c);
        if (x > w / 3 && x < w / 3 + w / 5 && y > h / 4) v += 0.15;
        if ((x - 0.7 * w) ** 2 + (y - 0.3 * h) ** 2 < (0.15 * w) ** 2) v -= 0.12;
        if (y > 0.8 * h) v = 0.9 - (0.2 * x) / w;
        if (x < w / 4 && y < h / 3) v += 0.08 * Math.sin(2.2 * x) * Math.sin(1.9 * y);
        data[(c * h + y) * w + x] = v;
      }
  return { c: 3, h, w, data };
}

/** The image plus seeded white Gaussian noise, clipped to [0, 1] as a saved photo is. */
function noisy(img: Img, sigma: number, seed: number): Img {
  const n = randn(img.data.length, seed);
  return { ...img, data: img.data.map((v, i) => Math.min(1, Math.max(0, v + sigma * n[i]))) };
}

describe('estimateNoiseLevel', () => {
  // The study's mean absolute error on the 12 development photos is at most 2.4% from sigma 0.01
  // up, and these scenes measure within 1%, so 5% fails on a real regression (without the
  // weak-texture selection the woven corner alone puts sigma 0.01 and 0.03 off by more), not on the draw.
  it.each([0.01, 0.03, 0.1])('finds sigma %f on a synthetic scene within 5%', (sigma) => {
    const img = scene(256, 256);
    for (const seed of [1, 2]) {
      const est = estimateNoiseLevel(noisy(img, sigma, seed + 100 * sigma));
      console.log(`scene, sigma ${sigma}, draw ${seed}: estimate ${est.sigma.toFixed(5)} (${((est.sigma / sigma - 1) * 100).toFixed(1)}%)`);
      expect(Math.abs(est.sigma / sigma - 1)).toBeLessThan(0.05);
      expect(est.patches).toBeGreaterThanOrEqual(MIN_PATCHES);
    }
  });

  // On a real photo, with its own grain and JPEG artefacts under the added noise: the study's
  // worst case over the development photos is 9.2% from sigma 0.02 up, so 10%.
  it('finds sigma 0.02, 0.05 and 0.1 on a photo within 10%', async (ctx) => {
    if (!existsSync(PHOTO)) {
      console.warn(`SKIPPED: no photo at ${PHOTO} (install python-matplotlib-data)`);
      ctx.skip();
    }
    const photo = (await readImage(PHOTO)).image;
    for (const sigma of [0.02, 0.05, 0.1]) {
      const est = estimateNoiseLevel(noisy(photo, sigma, 7));
      expect(Math.abs(est.sigma / sigma - 1), `sigma ${sigma}: estimate ${est.sigma}`).toBeLessThan(0.1);
    }
  });

  it('reads a clean smooth image as nearly noise-free', () => {
    // Far below a quarter of an 8-bit step: the weak-texture patches have no energy at the highest frequencies.
    expect(estimateNoiseLevel(scene(128, 160)).sigma).toBeLessThan(1e-3);
    const flat = { c: 3, h: 40, w: 40, data: new Float64Array(3 * 40 * 40).fill(0.5) };
    expect(estimateNoiseLevel(flat).sigma).toBe(0);
  });

  it('is not pulled down by a saturated region, where clipping removed half the noise', () => {
    const img = scene(128, 128);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 128; y++) img.data.fill(1, (c * 128 + y) * 128, (c * 128 + y) * 128 + 64);
    const y = noisy(img, 0.05, 4);
    expect(Math.abs(estimateNoiseLevel(y).sigma / 0.05 - 1)).toBeLessThan(0.05);
    // The control: with the clipped patches kept, the same image reads far too low.
    expect(estimateNoiseLevel(y, { keepClipped: true }).sigma / 0.05).toBeLessThan(0.8);
  });

  it('is deterministic', () => {
    const y = noisy(scene(96, 120), 0.03, 5);
    const a = estimateNoiseLevel(y);
    const b = estimateNoiseLevel({ ...y, data: Float64Array.from(y.data) });
    expect(b).toEqual(a);
  });

  it('refuses an image too small for its patches with a clear UserError', () => {
    const tiny = { c: 3, h: NOISE_PATCH - 1, w: 40, data: new Float64Array(3 * (NOISE_PATCH - 1) * 40).fill(0.5) };
    expect(() => estimateNoiseLevel(tiny)).toThrow(UserError);
    expect(() => estimateNoiseLevel(tiny)).toThrow(`the image (40x${NOISE_PATCH - 1}) is too small to estimate its noise level: it needs at least ${MIN_PATCHES} patches of 6x6 pixels`);
    // Large enough for a patch but not for MIN_PATCHES of them: refused too, not a guess from a handful.
    const grey = { c: 1, h: 10, w: 10, data: new Float64Array(100).fill(0.5) };
    expect(() => estimateNoiseLevel(grey)).toThrow(UserError);
  });
});
