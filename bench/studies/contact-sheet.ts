/**
 * VML-MAP with a model on development photos, per task: PSNR and SSIM (markdown table on stdout)
 * and a contact sheet PNG whose rows are clean / degraded / restored crops.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/contact-sheet.js --model resources/models/default \
 *       --data data/dev --out docs/img/contact-sheet.png [--crop 128] [--images 3] [--sheet 3] [--preset balanced]
 *       [--solver vml-fp] [--detail D] [--tasks painted,box]  (task labels starting with these words)
 * For inpainting the table adds the PSNR over the restored pixels alone.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readImage } from '../../engine/photo/image.js';
import { toRgba8 } from '../../engine/photo/rgba.js';
import { holeObserved, paintedObserved, scratchesObserved } from '../../engine/photo/masks.js';
import { isMissing } from '../../engine/photo/user-mask.js';
import { psnr, ssim } from '../../engine/metrics.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { degrade, restore } from '../../engine/job/restore.js';
import { DEFAULT_SOLVER, type Preset, type SolverName, type TaskSpec } from '../../engine/tasks.js';
import type { Img } from '../../engine/types.js';

const TASKS: [string, TaskSpec, 'scratches' | 'box' | 'painted' | undefined][] = [
  ['denoise 0.05', { task: 'denoise', sigmaY: 0.05 }, undefined],
  ['SR x4 box', { task: 'sr', scale: 4, srKernel: 'box', sigmaY: 0 }, undefined],
  ['deblur gaussian 2', { task: 'deblur', kernel: { type: 'gaussian', std: 2 }, sigmaY: 0.01 }, undefined],
  ['deblur motion 9', { task: 'deblur', kernel: { type: 'motion', length: 9, angle: 30 }, sigmaY: 0.01 }, undefined],
  ['inpaint scratches', { task: 'inpaint', sigmaY: 0 }, 'scratches'],
  ['inpaint box 48', { task: 'inpaint', sigmaY: 0 }, 'box'],
  ['painted strokes 12-28 px', { task: 'inpaint', sigmaY: 0 }, 'painted'],
  ['colourise', { task: 'colorize', sigmaY: 0 }, undefined],
];

function centreCrop(img: Img, size: number): Img {
  const y0 = Math.floor((img.h - size) / 2);
  const x0 = Math.floor((img.w - size) / 2);
  const data = new Float64Array(img.c * size * size);
  for (let c = 0; c < img.c; c++)
    for (let y = 0; y < size; y++) data.set(img.data.subarray(c * img.h * img.w + (y0 + y) * img.w + x0, c * img.h * img.w + (y0 + y) * img.w + x0 + size), c * size * size + y * size);
  return { c: img.c, h: size, w: size, data };
}

/** Nearest-neighbour upscale so a low-resolution measurement shows at the crop's size. */
function showAt(img: Img, size: number): Img {
  if (img.h === size && img.w === size) return img;
  const data = new Float64Array(img.c * size * size);
  for (let c = 0; c < img.c; c++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) data[c * size * size + y * size + x] = img.data[c * img.h * img.w + Math.floor((y * img.h) / size) * img.w + Math.floor((x * img.w) / size)];
  return { c: img.c, h: size, w: size, data };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      model: { type: 'string', default: 'resources/models/default' },
      data: { type: 'string', default: 'data/dev' },
      out: { type: 'string', default: 'docs/img/contact-sheet.png' },
      crop: { type: 'string', default: '128' },
      images: { type: 'string', default: '3' },
      preset: { type: 'string', default: 'balanced' },
      /** Photos shown on the sheet (the first ones); the table covers all --images. */
      sheet: { type: 'string', default: '3' },
      solver: { type: 'string', default: DEFAULT_SOLVER },
      detail: { type: 'string', default: '0' },
      tasks: { type: 'string' },
    },
  });
  const size = Number(a.crop);
  const sheetImages = Number(a.sheet);
  const files = readdirSync(a.data!)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .slice(0, Number(a.images));
  const model = await OnnxDenoiser.load(a.model!, { provider: 'cpu' });
  const tiles: { img: Img; row: number; col: number }[] = [];
  let row = 0;
  process.stdout.write(`| task | PSNR (dB) | SSIM | degraded PSNR (dB) | restored pixels only (dB) | seconds per image |\n|---|---|---|---|---|---|\n`);
  const wanted = a.tasks?.split(',');
  for (const [label, spec, maskKind] of TASKS.filter(([l]) => !wanted || wanted.some((w) => l.startsWith(w)))) {
    let pm = 0;
    let p = 0;
    let s = 0;
    let pd = 0;
    let secs = 0;
    for (const [i, f] of files.entries()) {
      const clean = centreCrop((await readImage(join(a.data!, f))).image, size);
      const observed =
        maskKind === 'box' ? holeObserved(size, size) : maskKind === 'scratches' ? scratchesObserved(size, size, i) : maskKind === 'painted' ? paintedObserved(size, size, i) : undefined;
      const d = degrade(clean, spec, i, observed);
      const solver = { solver: a.solver as SolverName, preset: a.preset as Preset, seed: i, detail: Number(a.detail) || undefined };
      const res = await restore(model, { image: d.image, observed, spec, solver });
      p += psnr(res.image.data, clean.data);
      if (observed) {
        const keep = (_: number, k: number) => isMissing(observed[k % observed.length]!);
        pm += psnr(res.image.data.filter(keep), clean.data.filter(keep));
      }
      s += ssim(res.image, clean);
      secs += res.stats.wallMs / 1000;
      const shown = showAt(d.image, size);
      pd += psnr(shown.data, clean.data);
      if (i < sheetImages) tiles.push({ img: clean, row, col: 3 * i }, { img: shown, row, col: 3 * i + 1 }, { img: res.image, row, col: 3 * i + 2 });
    }
    const n = files.length;
    process.stdout.write(`| ${label} | ${(p / n).toFixed(2)} | ${(s / n).toFixed(4)} | ${(pd / n).toFixed(2)} | ${maskKind ? (pm / n).toFixed(2) : '-'} | ${(secs / n).toFixed(1)} |\n`);
    row++;
  }
  const gap = 4;
  const cols = 3 * Math.min(sheetImages, files.length);
  const width = cols * (size + gap);
  const height = row * (size + gap);
  const composites = await Promise.all(
    tiles.map(async (t) => ({
      input: await sharp(Buffer.from(toRgba8(t.img).buffer), { raw: { width: size, height: size, channels: 4 } })
        .png()
        .toBuffer(),
      left: t.col * (size + gap),
      top: t.row * (size + gap),
    })),
  );
  mkdirSync(dirname(a.out!), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(a.out!);
  process.stdout.write(
    `\nwrote ${a.out}: rows = tasks in the table's order; per photo: clean, degraded, restored (${a.solver} ${a.preset}${Number(a.detail) ? `, detail ${a.detail}` : ''}, ${size}x${size} centre crops)\n`,
  );
  await model.release();
}

main();
