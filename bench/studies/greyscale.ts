/**
 * How well engine/estimate/greyscale.ts tells monochrome photos from colour ones. Each development
 * photo at full size, as five contents: the original (colour); its luma saved as RGB (grey); its
 * luma sepia-toned (the classic sepia matrix, clipped); its luma as a cyanotype (Prussian blue to
 * paper white); a faded colour print (chroma x0.3, then a warm cast: red x1.06, blue x0.85, plus
 * 0.03 on red). Each under four conditions: as made, grain (seeded white Gaussian noise of std
 * 0.02 per channel), JPEG (quality 60, chroma subsampled 4:2:0, as sharp writes it) and grain then
 * JPEG. Prints the share of the photos called greyscale per content and condition, with the range
 * of the statistic (the share of blocks with colour; greyscale at or below GREY_SHARE), the
 * confusion table and the time per megapixel on a 12 MP image.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/greyscale.js [--data data/dev] [--images 12]
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { detectGreyscale, GREY_SHARE } from '../../engine/estimate/greyscale.js';
import { readImage } from '../../engine/photo/image.js';
import { Rng } from '../../engine/solvers/common.js';
import type { Img } from '../../engine/types.js';
import { pickPhotos } from '../images.js';

type Rgb = [number, number, number];

/** Per pixel: the new (r, g, b) from the old, clipped to [0, 1]. */
function mapPixels(img: Img, f: (r: number, g: number, b: number) => Rgb): Img {
  const n = img.h * img.w;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) {
    const v = f(img.data[p], img.data[n + p], img.data[2 * n + p]);
    for (let c = 0; c < 3; c++) out[c * n + p] = Math.min(1, Math.max(0, v[c]));
  }
  return { c: 3, h: img.h, w: img.w, data: out };
}

const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

const CONTENTS: { name: string; mono: boolean; make: (img: Img) => Img }[] = [
  { name: 'original', mono: false, make: (img) => img },
  {
    name: 'faded colour (chroma x0.3, warm cast)',
    mono: false,
    make: (img) =>
      mapPixels(img, (r, g, b) => {
        const y = luma(r, g, b);
        const [fr, fg, fb] = [y + 0.3 * (r - y), y + 0.3 * (g - y), y + 0.3 * (b - y)];
        return [1.06 * fr + 0.03, fg, 0.85 * fb];
      }),
  },
  { name: 'grey (luma as RGB)', mono: true, make: (img) => mapPixels(img, (r, g, b) => [luma(r, g, b), luma(r, g, b), luma(r, g, b)]) },
  {
    name: 'sepia',
    mono: true,
    make: (img) =>
      mapPixels(img, (r, g, b) => {
        const y = luma(r, g, b);
        return [(0.393 + 0.769 + 0.189) * y, (0.349 + 0.686 + 0.168) * y, (0.272 + 0.534 + 0.131) * y];
      }),
  },
  {
    name: 'cyanotype',
    mono: true,
    make: (img) =>
      mapPixels(img, (r, g, b) => {
        const y = luma(r, g, b);
        const dark: Rgb = [0.05, 0.18, 0.38];
        const light: Rgb = [0.92, 0.95, 0.98];
        return [dark[0] + y * (light[0] - dark[0]), dark[1] + y * (light[1] - dark[1]), dark[2] + y * (light[2] - dark[2])];
      }),
  },
];

function grainy(img: Img, sigma: number, seed: number): Img {
  const rng = new Rng(seed);
  return { ...img, data: img.data.map((v) => Math.min(1, Math.max(0, v + sigma * rng.normal()))) };
}

/** Through a JPEG of the given quality (sharp's defaults: 4:2:0 chroma subsampling) and back. */
async function jpeg(img: Img, quality: number): Promise<Img> {
  const n = img.h * img.w;
  const raw = Buffer.alloc(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) raw[3 * p + c] = Math.round(255 * img.data[c * n + p]);
  const encoded = await sharp(raw, { raw: { width: img.w, height: img.h, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  const { data } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = data[3 * p + c] / 255;
  return { ...img, data: out };
}

const CONDITIONS: { name: string; make: (img: Img, seed: number) => Promise<Img> }[] = [
  { name: 'as made', make: async (img) => img },
  { name: 'grain 0.02', make: async (img, seed) => grainy(img, 0.02, seed) },
  { name: 'JPEG q60', make: (img) => jpeg(img, 60) },
  { name: 'grain 0.02, then JPEG q60', make: (img, seed) => jpeg(grainy(img, 0.02, seed), 60) },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string', default: 'data/dev' }, images: { type: 'string', default: '12' } } });
  const photos = pickPhotos(values.data!, Number(values.images));
  // calls[content][condition] = one verdict per photo.
  const calls = CONTENTS.map(() => CONDITIONS.map(() => [] as { grey: boolean; share: number; photo: string }[]));
  for (const [i, path] of photos.entries()) {
    const clean = (await readImage(path)).image;
    const photo = path.replace(/^.*__/, '');
    for (const [k, content] of CONTENTS.entries()) {
      const made = content.make(clean);
      for (const [c, condition] of CONDITIONS.entries()) {
        const v = detectGreyscale(await condition.make(made, 100 * i + 10 * k + c + 1));
        calls[k][c].push({ grey: v.greyscale, share: v.colourShare, photo });
      }
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(`${photos.length} photos at full size; greyscale when at most ${100 * GREY_SHARE}% of the blocks have colour\n`);
  console.log(line(['content', 'condition', 'called greyscale', 'share of blocks with colour: min', 'median', 'max', 'wrong calls']));
  console.log(line(['---', '---', '---', '---', '---', '---', '---']));
  const confusion = { monoGrey: 0, monoColour: 0, colourGrey: 0, colourColour: 0 };
  for (const [k, content] of CONTENTS.entries())
    for (const [c, condition] of CONDITIONS.entries()) {
      const v = calls[k][c];
      const grey = v.filter((x) => x.grey).length;
      const shares = v.map((x) => x.share).sort((a, b) => a - b);
      const wrong = v.filter((x) => x.grey !== content.mono).map((x) => x.photo);
      if (content.mono) {
        confusion.monoGrey += grey;
        confusion.monoColour += v.length - grey;
      } else {
        confusion.colourGrey += grey;
        confusion.colourColour += v.length - grey;
      }
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.log(line([content.name, condition.name, `${grey} / ${v.length}`, pct(shares[0]), pct(shares[shares.length >> 1]), pct(shares[shares.length - 1]), wrong.join(', ') || '-']));
    }
  console.log('\nConfusion (all contents and conditions):\n');
  console.log(line(['truth', 'called greyscale', 'called colour']));
  console.log(line(['---', '---', '---']));
  console.log(line(['monochrome (grey, sepia, cyanotype)', String(confusion.monoGrey), String(confusion.monoColour)]));
  console.log(line(['colour (original, faded)', String(confusion.colourGrey), String(confusion.colourColour)]));
  // The time on a 12 MP image (a development photo enlarged), the fastest of three.
  const { data, info } = await sharp(photos[0]).rotate().removeAlpha().resize(4000, 3000, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const big: Img = { c: 3, h: info.height, w: info.width, data: new Float64Array(3 * n) };
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) big.data[c * n + p] = data[3 * p + c] / 255;
  detectGreyscale(big);
  let best = Infinity;
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    detectGreyscale(big);
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`\n${(best / 12).toFixed(1)} ms per megapixel (4000x3000)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
