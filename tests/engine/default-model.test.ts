/**
 * The bundled default model on a real photo, through restore() as the app calls it, with both
 * VML-MAP rules at the balanced preset. Quality floors that a broken start or schedule falls
 * through, not benchmark figures (docs/BENCHMARKS.md has those).
 *
 * Colourisation: the luma fixes none of the colour, so where the solve starts decides what the
 * prior sharpens. Noise around mid-grey (the start before the operators' estimates) let the prior
 * turn random hues into saturated false colours, 16.7 dB against the grey image's 39.9 on this
 * test's nearly colourless crop; from the grey image (Luma.estimate) the result stays near it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImage } from '../../engine/photo/image.js';
import { psnr } from '../../engine/metrics.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { Luma } from '../../engine/operators/luma.js';
import { degrade, restore } from '../../engine/job/restore.js';
import type { Img } from '../../engine/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEFAULT = join(ROOT, 'resources', 'models', 'default');
const PHOTO = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg'; // python-matplotlib-data, installed by .ci/run

function crop(img: Img, size: number, fy: number, fx: number): Img {
  const y0 = Math.floor((img.h - size) * fy);
  const x0 = Math.floor((img.w - size) * fx);
  const data = new Float64Array(img.c * size * size);
  for (let c = 0; c < img.c; c++) for (let y = 0; y < size; y++) data.set(img.data.subarray((c * img.h + y0 + y) * img.w + x0, (c * img.h + y0 + y) * img.w + x0 + size), (c * size + y) * size);
  return { c: img.c, h: size, w: size, data };
}

describe('the default model restores a real photo', () => {
  let model: OnnxDenoiser;
  let photo: Img;
  beforeAll(async () => {
    model = await OnnxDenoiser.load(DEFAULT, { provider: 'cpu' });
    photo = (await readImage(PHOTO)).image;
  });
  afterAll(() => model?.release());

  it('colourises without false colours: no crop 6 dB below the grey image, and keeps the luma', async () => {
    expect(existsSync(PHOTO), `${PHOTO} (install python-matplotlib-data)`).toBe(true);
    // Face, uniform and background regions of the portrait.
    for (const [fy, fx] of [
      [0.3, 0.5],
      [0.8, 0.2],
      [0.1, 0.9],
    ] as const) {
      const clean = crop(photo, 96, fy, fx);
      const spec = { task: 'colorize', sigmaY: 0 } as const;
      const grey = degrade(clean, spec, 0).image;
      for (const solver of ['vml-fp', 'vml-map'] as const) {
        const res = await restore(model, { image: grey, spec, solver: { solver, preset: 'balanced', seed: 0 } });
        const pRes = psnr(res.image.data, clean.data);
        const pGrey = psnr(grey.data, clean.data);
        console.log(`colourise crop at (${fy}, ${fx}), ${solver}: restored ${pRes.toFixed(2)} dB, grey ${pGrey.toFixed(2)} dB`);
        expect(pRes).toBeGreaterThan(pGrey - 6);
        const op = new Luma({ c: 3, h: 96, w: 96 });
        const lumaErr = psnr(op.forward(res.image.data), op.forward(clean.data));
        expect(lumaErr).toBeGreaterThan(50);
      }
    }
  }, 300_000);
});
