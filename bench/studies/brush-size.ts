/**
 * Which brush width suits what the model fills well: thin scratches on the development photos,
 * covered as a person covers them with a round brush of width W (the scratch mask dilated by W/2),
 * restored with the default solver's balanced preset. Prints, per width, the PSNR over the whole
 * photo (the scratched pixels must be restored at every width; unpainted pixels are kept exactly)
 * and over the painted pixels, and the harmonic fill (the solver's start) over the same pixels.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/brush-size.js [--images 12] [--size 256]
 */
import { parseArgs } from 'node:util';
import { scratchesObserved } from '../../engine/photo/masks.js';
import { observedFromRestoreFlags, restoreFlagsFromObserved } from '../../engine/photo/user-mask.js';
import { psnr } from '../../engine/metrics.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { buildOperator } from '../../engine/job/restore.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import { DEFAULT_SOLVER } from '../../engine/tasks.js';
import { photoCrop, pickPhotos } from '../images.js';

const WIDTHS = [4, 8, 12, 16, 24, 32];

/** Pixels within radius r of a marked pixel. */
function dilate(m: Float64Array, h: number, w: number, r: number): Float64Array {
  const out = new Float64Array(m.length);
  const R = Math.ceil(r);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      if (!m[i * w + j]) continue;
      for (let di = -R; di <= R; di++)
        for (let dj = -R; dj <= R; dj++) {
          const y = i + di;
          const x = j + dj;
          if (y >= 0 && y < h && x >= 0 && x < w && di * di + dj * dj <= r * r) out[y * w + x] = 1;
        }
    }
  return out;
}

function over(x: Float64Array, ref: Float64Array, mask: Float64Array): number {
  const hw = mask.length;
  const keep = (_: number, i: number) => mask[i % hw] === 1;
  return psnr(x.filter(keep), ref.filter(keep));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string', default: 'data/dev' }, images: { type: 'string', default: '12' }, size: { type: 'string', default: '256' } } });
  const size = Number(values.size);
  const photos = pickPhotos(values.data!, Number(values.images));
  const model = await OnnxDenoiser.load('resources/models/default', { provider: 'cpu' });
  const rows = WIDTHS.map((w) => ({ w, whole: [] as number[], painted: [] as number[], start: [] as number[], share: [] as number[] }));
  for (const [i, p] of photos.entries()) {
    const clean = await photoCrop(p, size);
    // The scratches as a person's mask (1 = to restore), which the brush widens.
    const scratches = Float64Array.from(restoreFlagsFromObserved(scratchesObserved(size, size, 3000 + i, 0.02)));
    for (const row of rows) {
      const mask = dilate(scratches, size, size, row.w / 2);
      const spec = { task: 'inpaint' as const, sigmaY: 0 };
      const op = buildOperator(spec, clean, observedFromRestoreFlags(mask));
      const y = op.forward(clean.data);
      const res = await solve({ op, y, sigmaY: 0, model, seed: i }, settingsFor(DEFAULT_SOLVER, 'balanced', 'inpaint'));
      row.whole.push(psnr(res.x, clean.data));
      row.painted.push(over(res.x, clean.data, mask));
      row.start.push(over(op.estimate(y, 0).x, clean.data, mask));
      row.share.push(mask.reduce((a, b) => a + b, 0) / mask.length);
    }
    process.stderr.write(`${p.split('__').pop()} done\n`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  process.stdout.write(`| brush width (px) | painted share | whole-photo PSNR (dB) | painted-pixel PSNR (dB) | painted pixels, harmonic fill (dB) |\n|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.w} | ${(100 * mean(r.share)).toFixed(1)}% | ${mean(r.whole).toFixed(2)} | ${mean(r.painted).toFixed(2)} | ${mean(r.start).toFixed(2)} |\n`);
  process.stdout.write(
    `\n${photos.length} development photos at ${size}x${size}, thin scratches on 2% of the pixels (seed 3000 + k) covered by a round brush of each width; ${DEFAULT_SOLVER} balanced.\n`,
  );
  await model.release();
}

main();
