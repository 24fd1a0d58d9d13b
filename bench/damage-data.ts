/**
 * Training samples for the damage detector's classifier (engine/estimate/damage.ts): the training
 * photos (datasets/train-files.tsv, fetched into data/train by model-training/fetch_data.py; never
 * the development photos), each resized to a short side of 200 (--short-min; 400 before the
 * restore at 256 px showed the detector's false alarms at small sizes) to 1000 px and made into synthetic
 * old photos (engine/synthetic/old-photo.ts) at a random grain (none one time in seven, else sigma
 * 0.005 to 0.08), blur (none one time in four, else std 0.5 to 1.8) and colour (grey one time in
 * three). Per photo and draw,
 * the features of damageFeatures at up to 4000 damaged pixels, 4000 undamaged pixels that look
 * suspicious (|z2| or |zc| above 2, or a line mean beyond 1.5) and 1000 others, each with the
 * weight (its stratum's size over the samples drawn) that restores the photo's proportions.
 * Undamaged pixels within 1 px of damage are left out: the detector's mask is dilated by 1 px and
 * the score forgives them (docs/ALGORITHM.md, "Damage detection").
 *
 * Writes OUT.json (feature names, count) and OUT.f32: per sample the features, the label (0 or 1)
 * and the weight, as float32. model-training/train_damage.py reads them.
 *
 *   npm run -s build:cli && node out/cli/bench/damage-data.js [--data data/train] [--out bench-out/damage-train] [--draws 2] [--short-min 200]
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { damageFeatures, FEATURE_NAMES, luminance } from '../engine/estimate/damage.js';
import { Rng } from '../engine/solvers/common.js';
import { syntheticOldPhoto } from '../engine/synthetic/old-photo.js';
import type { Img } from '../engine/types.js';
import { PHOTO } from './images.js';

const PER_STRATUM = { damaged: 4000, suspicious: 4000, plain: 1000 } as const;

/** The photo resized (Lanczos) so that its short side is `short`, planar RGB in [0, 1]. */
async function resized(path: string, short: number): Promise<Img> {
  const { data, info } = await sharp(path).rotate().removeAlpha().toColourspace('srgb').resize(short, short, { fit: 'outside', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels } = info;
  const n = w * h;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) for (let k = 0; k < 3; k++) out[k * n + p] = data[p * channels + Math.min(k, channels - 1)] / 255;
  return { c: 3, h, w, data: out };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/train' },
      out: { type: 'string', default: 'bench-out/damage-train' },
      draws: { type: 'string', default: '2' },
      'short-min': { type: 'string', default: '200' },
    },
  });
  const shortMin = Number(values['short-min']);
  const files = readdirSync(values.data!)
    .filter((n) => PHOTO.test(n))
    .sort();
  if (files.length === 0) throw new Error(`no photos in ${values.data}: fetch them with model-training/fetch_data.py`);
  const draws = Number(values.draws);
  const F = FEATURE_NAMES.length;
  const rng = new Rng(20_240_613);
  const rows: Float32Array[] = [];
  let count = 0;
  for (const [i, name] of files.entries()) {
    for (let d = 0; d < draws; d++) {
      const colour = await resized(join(values.data!, name), Math.round(shortMin + (1000 - shortMin) * rng.uniform()));
      const clean = rng.uniform() < 1 / 3 ? { c: 1, h: colour.h, w: colour.w, data: luminance(colour) } : colour;
      // No grain added one time in seven: the photo's own (a clean scan), which the detector must leave alone too.
      const sigma = rng.uniform() < 1 / 7 ? 0 : 0.005 + 0.075 * rng.uniform();
      const blurStd = rng.uniform() < 0.25 ? 0 : 0.5 + 1.3 * rng.uniform();
      const old = syntheticOldPhoto(clean, { seed: 1_000_000 + 10 * i + d, sigma, blurStd });
      const { h, w } = clean;
      const hw = h * w;
      const f = damageFeatures(old.image);
      const [z2, zc, up, down] = (['z2', 'zc', 'lineUp', 'lineDown'] as const).map((name) => f.data.subarray(FEATURE_NAMES.indexOf(name) * hw, (FEATURE_NAMES.indexOf(name) + 1) * hw));
      const strata: Record<keyof typeof PER_STRATUM, number[]> = { damaged: [], suspicious: [], plain: [] };
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const p = y * w + x;
          if (old.damaged[p]) {
            strata.damaged.push(p);
            continue;
          }
          let near = false;
          for (let dy = -1; dy <= 1 && !near; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xx = x + dx;
              if (yy >= 0 && yy < h && xx >= 0 && xx < w && old.damaged[yy * w + xx]) near = true;
            }
          if (near) continue;
          const suspicious = Math.abs(z2[p]) > 2 || Math.abs(zc[p]) > 2 || up[p] > 1.5 || down[p] < -1.5;
          (suspicious ? strata.suspicious : strata.plain).push(p);
        }
      for (const [stratum, pixels] of Object.entries(strata) as [keyof typeof PER_STRATUM, number[]][]) {
        const take = Math.min(PER_STRATUM[stratum], pixels.length);
        // A partial Fisher-Yates shuffle: the first `take` are a uniform sample.
        for (let k = 0; k < take; k++) {
          const j = k + Math.floor(rng.uniform() * (pixels.length - k));
          [pixels[k], pixels[j]] = [pixels[j], pixels[k]];
          const row = new Float32Array(F + 2);
          for (let q = 0; q < F; q++) row[q] = f.data[q * hw + pixels[k]];
          row[F] = stratum === 'damaged' ? 1 : 0;
          row[F + 1] = pixels.length / take;
          rows.push(row);
          count++;
        }
      }
    }
    if (i % 10 === 0) console.log(`${i + 1}/${files.length} ${name}: ${count} samples`);
  }
  const out = new Float32Array(count * (F + 2));
  rows.forEach((r, k) => out.set(r, k * (F + 2)));
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(`${values.out}.f32`, out);
  writeFileSync(`${values.out}.json`, JSON.stringify({ features: FEATURE_NAMES, count, columns: F + 2 }));
  console.log(`${count} samples from ${files.length} photos x ${draws} draws -> ${values.out}.f32`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
