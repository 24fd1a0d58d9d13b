/**
 * The next model's layout in the engine (issue 12: model-training/unet.py CONFIGS["v2"], a residual
 * context branch below the UNet's levels, size multiple 16 at full size): tests/.models/tiny-context
 * is that layout at tiny widths (three levels and the branch: size multiple 8), exported by
 * model-training/make_test_models.py with shared weights and an fp16 variant, as the bundled model is.
 * It loads on the onnxruntime CPU provider; an image whose sides are not multiples of 8 is padded;
 * the exact VJP graph agrees with central differences of the engine's denoiser there; the fp16
 * graphs agree with the fp32 ones.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { readManifest } from '../../engine/model/manifest.js';
import { dot, Rng } from '../../engine/solvers/common.js';
import { relErr } from '../oracles/closed-form.js';

const DIR = join(import.meta.dirname, '..', '.models', 'tiny-context');
const shape = { c: 3, h: 20, w: 28 }; // padded to 24 x 32 by the engine
const n = shape.c * shape.h * shape.w;

describe('a model with a context branch (the v2 layout, tiny)', () => {
  it('declares its size multiple and the fp16 variant', () => {
    const m = readManifest(DIR).manifest;
    expect(m.sizeMultiple).toBe(8);
    expect(m.variants?.fp16).toBeDefined();
  });

  it('denoises an image that needs padding, and its exact VJP matches central differences there', async () => {
    const model = await OnnxDenoiser.load(DIR, { provider: 'cpu' });
    expect(model.sizeMultiple).toBe(8);
    const rng = new Rng(5);
    const z = rng.normals(n).map((x) => 0.5 + 0.2 * x);
    const sigma = 0.2;
    const D = await model.denoise(z, shape, sigma);
    expect(D.length).toBe(n);
    expect(D.every(Number.isFinite)).toBe(true);
    expect(relErr(D, z)).toBeGreaterThan(1e-3);
    const u = rng.normals(n);
    const jtu = await model.jtv(z, shape, sigma, u);
    const h = 1e-2;
    const analytic: number[] = [];
    const numeric: number[] = [];
    for (let k = 0; k < 3; k++) {
      const v = rng.normals(n);
      const dp = await model.denoise(
        z.map((x, i) => x + h * v[i]),
        shape,
        sigma,
      );
      const dm = await model.denoise(
        z.map((x, i) => x - h * v[i]),
        shape,
        sigma,
      );
      numeric.push(
        dot(
          u,
          dp.map((x, i) => (x - dm[i]) / (2 * h)),
        ),
      );
      analytic.push(dot(jtu, v));
    }
    expect(relErr(analytic, numeric)).toBeLessThan(1e-3);
    await model.release();
  });

  it('runs its fp16 variant when asked, close to fp32', async () => {
    const fp32 = await OnnxDenoiser.load(DIR, { provider: 'cpu' });
    const fp16 = await OnnxDenoiser.load(DIR, { provider: 'cpu', precision: 'fp16' });
    expect([fp32.precision, fp16.precision, fp16.precisionFallback]).toEqual(['fp32', 'fp16', undefined]);
    const rng = new Rng(6);
    const z = rng.normals(n).map((x) => 0.5 + 0.2 * x);
    const v = rng.normals(n);
    for (const sigma of [0.05, 0.4]) {
      expect(relErr(await fp16.denoise(z, shape, sigma), await fp32.denoise(z, shape, sigma))).toBeLessThan(2e-3);
      expect(relErr(await fp16.jtv(z, shape, sigma, v), await fp32.jtv(z, shape, sigma, v))).toBeLessThan(5e-3);
    }
    await fp32.release();
    await fp16.release();
  });
});
