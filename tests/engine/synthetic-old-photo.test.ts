/**
 * Synthetic old photos (engine/synthetic/old-photo.ts): blur by the engine's own operator, then
 * grain, then damage drawn into the photo. The result is deterministic per seed; the damaged
 * fraction stays in its range on colour and grey images of several sizes; every pixel more than
 * 1 px from the damage equals the blurred, noisy photo exactly (clipped); the same seed draws the
 * same damage whatever the blur and grain; values are clipped to [0, 1]; too small an image is
 * refused with a UserError.
 */
import { describe, expect, it } from 'vitest';
import { blur } from '../../engine/operators/blur.js';
import { gaussianKernel } from '../../engine/operators/kernels.js';
import { MIN_OLD_PHOTO_SIDE, syntheticOldPhoto } from '../../engine/synthetic/old-photo.js';
import { type Img, UserError } from '../../engine/types.js';

/** Gradients, a disc and a bar, some values at 0 and 1 so that clipping happens. */
function scene(c: number, h: number, w: number): Img {
  const data = new Float64Array(c * h * w);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = 0.1 + (0.7 * x) / w + 0.05 * ch + 0.1 * Math.sin(y / 9);
        if ((x - 0.6 * w) ** 2 + (y - 0.4 * h) ** 2 < (0.2 * w) ** 2) v = 0.15;
        if (y > 0.85 * h) v = x < w / 2 ? 0 : 1;
        data[(ch * h + y) * w + x] = v;
      }
  return { c, h, w, data };
}

const fraction = (m: Uint8Array) => m.reduce((a, b) => a + b, 0) / m.length;

/** 1 where a pixel of the mask lies within 1 px (its 3x3 neighbourhood). */
function dilate(m: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && m[yy * w + xx]) out[y * w + x] = 1;
        }
  return out;
}

describe('syntheticOldPhoto', () => {
  it('is deterministic per seed, and other seeds differ', () => {
    const clean = scene(3, 96, 128);
    const a = syntheticOldPhoto(clean, { seed: 5 });
    const b = syntheticOldPhoto({ ...clean, data: Float64Array.from(clean.data) }, { seed: 5 });
    expect(b.image.data).toEqual(a.image.data);
    expect(b.damaged).toEqual(a.damaged);
    const other = syntheticOldPhoto(clean, { seed: 6 });
    expect(other.damaged).not.toEqual(a.damaged);
  });

  it.each([
    [3, 128, 128],
    [1, 192, 256],
    [3, 300, 200],
  ])('damages 1.5% to 7.5% of the pixels (%i channel(s), %ix%i)', (c, h, w) => {
    const clean = scene(c, h, w);
    const fractions: number[] = [];
    for (let seed = 1; seed <= 6; seed++) {
      const old = syntheticOldPhoto(clean, { seed });
      fractions.push(fraction(old.damaged));
      expect(old.observed).toEqual(Float64Array.from(old.damaged, (d) => 1 - d));
    }
    console.log(`${c}x${h}x${w}: damaged ${fractions.map((f) => (100 * f).toFixed(2) + '%').join(' ')}`);
    for (const f of fractions) {
      expect(f).toBeGreaterThan(0.015);
      expect(f).toBeLessThan(0.075);
    }
  });

  it('leaves every pixel more than 1 px from the damage equal to the blurred, noisy photo', () => {
    const clean = scene(3, 128, 160);
    const old = syntheticOldPhoto(clean, { seed: 11 });
    const plain = syntheticOldPhoto(clean, { seed: 11, damage: false });
    expect(fraction(plain.damaged)).toBe(0);
    const near = dilate(old.damaged, 128, 160);
    const hw = 128 * 160;
    let changedNear = 0;
    for (let p = 0; p < hw; p++)
      for (let ch = 0; ch < 3; ch++) {
        const i = ch * hw + p;
        if (!near[p]) expect(old.image.data[i]).toBe(plain.image.data[i]);
        else if (old.image.data[i] !== plain.image.data[i]) changedNear++;
      }
    // The damage is drawn into the photo, not zeroed: most pixels near it are changed.
    expect(changedNear).toBeGreaterThan(0.5 * 3 * near.reduce((a, b) => a + b, 0));
  });

  it('blurs with the engine operator, before the grain, and clips to [0, 1]', () => {
    const clean = scene(1, 64, 80);
    const blurred = blur({ c: 1, h: 64, w: 80 }, gaussianKernel(1.5)).forward(clean.data);
    const noiseless = syntheticOldPhoto(clean, { seed: 3, blurStd: 1.5, sigma: 0, damage: false });
    expect(noiseless.image.data).toEqual(blurred.map((v) => Math.min(1, Math.max(0, v))));
    const untouched = syntheticOldPhoto(clean, { seed: 3, blurStd: 0, sigma: 0, damage: false });
    expect(untouched.image.data).toEqual(clean.data);
    // Grain of std 0.05: the residual from the blurred photo has that std away from the clipped rows.
    const grainy = syntheticOldPhoto(clean, { seed: 3, blurStd: 1.5, sigma: 0.05, damage: false });
    let s = 0;
    let n = 0;
    for (let i = 0; i < blurred.length; i++)
      if (blurred[i] > 0.2 && blurred[i] < 0.8) {
        s += (grainy.image.data[i] - blurred[i]) ** 2;
        n++;
      }
    expect(Math.sqrt(s / n)).toBeGreaterThan(0.047);
    expect(Math.sqrt(s / n)).toBeLessThan(0.053);
    const old = syntheticOldPhoto(clean, { seed: 3, sigma: 0.1 });
    expect(Math.min(...old.image.data)).toBe(0);
    expect(Math.max(...old.image.data)).toBe(1);
  });

  it('draws the same damage for one seed whatever the blur and grain', () => {
    const clean = scene(3, 96, 96);
    const a = syntheticOldPhoto(clean, { seed: 9 });
    const b = syntheticOldPhoto(clean, { seed: 9, blurStd: 0, sigma: 0.06 });
    expect(b.damaged).toEqual(a.damaged);
    expect(b.image.data).not.toEqual(a.image.data);
  });

  it(`works from ${MIN_OLD_PHOTO_SIDE}x${MIN_OLD_PHOTO_SIDE} and refuses smaller images with a UserError`, () => {
    const small = scene(1, MIN_OLD_PHOTO_SIDE, MIN_OLD_PHOTO_SIDE);
    for (let seed = 1; seed <= 4; seed++) expect(fraction(syntheticOldPhoto(small, { seed }).damaged)).toBeLessThan(0.1);
    const tiny = scene(3, MIN_OLD_PHOTO_SIDE - 1, 40);
    expect(() => syntheticOldPhoto(tiny, { seed: 1 })).toThrow(UserError);
    expect(() => syntheticOldPhoto(small, { seed: 1, sigma: -1 })).toThrow(UserError);
  });
});
