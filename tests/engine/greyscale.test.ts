/**
 * Whether a photo is effectively monochrome (engine/estimate/greyscale.ts): grey saved as RGB,
 * toned prints (sepia, cyanotype) and those with grain or through a JPEG read greyscale; colour
 * scenes, also faded and with a colour cast, read colour (docs/ALGORITHM.md, "Greyscale
 * detection"; bench/studies/greyscale.ts).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { detectGreyscale, GREY_SHARE } from '../../engine/estimate/greyscale.js';
import type { Img } from '../../engine/types.js';
import { randn } from './helpers.js';

const H = 160;
const W = 192;

/**
 * A colour scene: a sky gradient, a red roof, a green field, a blue door and a yellow sign, whose
 * colours differ at similar luma (what a tone curve cannot explain), with smooth shading.
 */
function colourScene(): Img {
  const n = H * W;
  const data = new Float64Array(3 * n);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let rgb = [0.55 + (0.2 * y) / H, 0.65 + (0.2 * y) / H, 0.9];
      if (y > 0.6 * H) rgb = [0.25 + (0.1 * x) / W, 0.55, 0.2];
      if (y > 0.25 * H && y < 0.6 * H && x > 0.2 * W && x < 0.8 * W) rgb = [0.7, 0.25, 0.2];
      if (y > 0.4 * H && y < 0.6 * H && x > 0.45 * W && x < 0.55 * W) rgb = [0.2, 0.3, 0.6];
      if ((x - 0.85 * W) ** 2 + (y - 0.8 * H) ** 2 < (0.08 * W) ** 2) rgb = [0.85, 0.75, 0.15];
      const shade = 0.9 + 0.1 * Math.sin(x / 9) * Math.sin(y / 13);
      for (let c = 0; c < 3; c++) data[c * n + y * W + x] = Math.min(1, rgb[c] * shade);
    }
  return { c: 3, h: H, w: W, data };
}

function mapPixels(img: Img, f: (r: number, g: number, b: number) => number[]): Img {
  const n = img.h * img.w;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) {
    const v = f(img.data[p], img.data[n + p], img.data[2 * n + p]);
    for (let c = 0; c < 3; c++) out[c * n + p] = Math.min(1, Math.max(0, v[c]));
  }
  return { ...img, data: out };
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const grey = (img: Img) => mapPixels(img, (r, g, b) => [luma(r, g, b), luma(r, g, b), luma(r, g, b)]);
const sepia = (img: Img) => mapPixels(img, (r, g, b) => [1.351 * luma(r, g, b), 1.203 * luma(r, g, b), 0.937 * luma(r, g, b)]);
const cyanotype = (img: Img) =>
  mapPixels(img, (r, g, b) => {
    const y = luma(r, g, b);
    return [0.05 + 0.87 * y, 0.18 + 0.77 * y, 0.38 + 0.6 * y];
  });
/** Saturation x0.3, then a warm cast, as bench/studies/greyscale.ts fades a colour print. */
const faded = (img: Img) =>
  mapPixels(img, (r, g, b) => {
    const y = luma(r, g, b);
    return [1.06 * (y + 0.3 * (r - y)) + 0.03, y + 0.3 * (g - y), 0.85 * (y + 0.3 * (b - y))];
  });
const grainy = (img: Img, sigma: number, seed: number): Img => {
  const z = randn(img.data.length, seed);
  return { ...img, data: img.data.map((v, i) => Math.min(1, Math.max(0, v + sigma * z[i]))) };
};

async function throughJpeg(img: Img, quality: number): Promise<Img> {
  const n = img.h * img.w;
  const raw = Buffer.alloc(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) raw[3 * p + c] = Math.round(255 * img.data[c * n + p]);
  const jpeg = await sharp(raw, { raw: { width: img.w, height: img.h, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { ...img, data: Float64Array.from({ length: 3 * n }, (_, i) => data[3 * (i % n) + Math.floor(i / n)] / 255) };
}

describe('detectGreyscale', () => {
  const scene = colourScene();

  it('reads a colour scene as colour, also faded to 30% saturation with a warm cast', () => {
    const v = detectGreyscale(scene);
    expect(v.greyscale).toBe(false);
    expect(v.colourShare).toBeGreaterThan(0.3);
    expect(detectGreyscale(faded(scene)).greyscale).toBe(false);
  });

  it.each([
    ['grey saved as RGB', grey],
    ['sepia', sepia],
    ['cyanotype', cyanotype],
  ])('reads %s as greyscale, with nothing left unexplained', (_, tone) => {
    const v = detectGreyscale(tone(scene));
    expect(v.greyscale).toBe(true);
    expect(v.colourShare).toBe(0);
  });

  it('keeps its calls under grain and through a JPEG', async () => {
    for (const [tone, mono] of [
      [grey, true],
      [sepia, true],
      [cyanotype, true],
      [faded, false],
      [(img: Img) => img, false],
    ] as const) {
      const made = tone(scene);
      const noisy = grainy(made, 0.02, 7);
      expect(detectGreyscale(noisy).greyscale).toBe(mono);
      expect(detectGreyscale(await throughJpeg(noisy, 60)).greyscale).toBe(mono);
    }
  });

  it('says where a toned print stands: its tone, and the share of blocks with colour', () => {
    const v = detectGreyscale(sepia(scene));
    // Sepia: blue below the luma (Cb < 0), red above it (Cr > 0).
    expect(v.tone[0]).toBeLessThan(-0.02);
    expect(v.tone[1]).toBeGreaterThan(0.01);
    expect(v.colourShare).toBeLessThanOrEqual(GREY_SHARE);
  });

  it('calls a one-channel image, a flat one and one all white greyscale', () => {
    expect(detectGreyscale({ c: 1, h: 4, w: 4, data: new Float64Array(16).fill(0.3) }).greyscale).toBe(true);
    const flat = { c: 3, h: 40, w: 40, data: new Float64Array(3 * 1600).fill(0.5) };
    expect(detectGreyscale(flat)).toMatchObject({ greyscale: true, colourShare: 0 });
    const white = { c: 3, h: 40, w: 40, data: new Float64Array(3 * 1600).fill(1) };
    expect(detectGreyscale(white).greyscale).toBe(true);
  });
});
