/**
 * How well engine/estimate/damage.ts finds the damage of synthetic old photos
 * (engine/synthetic/old-photo.ts) made from the development photos at full size: scratches, dust
 * and blotches drawn over grain sigma and Gaussian blur std. A detected pixel within 1 px (its 3x3
 * neighbourhood) of a damaged one counts as a hit for precision, a damaged pixel within 1 px of a
 * detected one as found for recall. Seeds 101 and 102 draw the damage: seeds the detector's design
 * never saw (its classifier and threshold were fitted on the training photos; the prototype was
 * looked at with seed 1 on these photos).
 *
 * Prints, per setting, the mean precision, recall and F1 over the photos and draws, the worst
 * photo's F1, and the detector's CPU time per megapixel (process.cpuUsage, this process alone; the
 * machine may be shared) and wall time; the same for a classical baseline (median residuals over
 * their local spread, hysteresis; what the classifier replaced); a sensitivity sweep; the fraction
 * of pixels flagged on undamaged photos. Writes a contact sheet: per row one photo's crop, old
 * photo | true damage | detected | errors (green found, red missed, blue false).
 *
 *   npm run -s build:cli && node out/cli/bench/studies/damage-detection.js [--data data/dev] [--images 12] [--sheet docs/img/damage-detection.png]
 */
import { type DetectionScore, nearMarked, tolerantF1 } from '../../engine/metrics.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { damageFeatures, damageMask, damageProbability, detectDamage, FEATURE_NAMES, luminance } from '../../engine/estimate/damage.js';
import { readImage } from '../../engine/photo/image.js';
import { syntheticOldPhoto } from '../../engine/synthetic/old-photo.js';
import type { Img } from '../../engine/types.js';
import { pickPhotos } from '../images.js';

const SEEDS = [101, 102];
const SETTINGS: { label: string; sigma: number; blurStd: number; grey?: boolean }[] = [
  { label: 'sigma 0.03, blur std 1 (defaults)', sigma: 0.03, blurStd: 1 },
  { label: 'sigma 0.01, blur std 1', sigma: 0.01, blurStd: 1 },
  { label: 'sigma 0.06, blur std 1', sigma: 0.06, blurStd: 1 },
  { label: 'sigma 0.03, no blur', sigma: 0.03, blurStd: 0 },
  { label: 'greyscale photo, sigma 0.03, blur std 1', sigma: 0.03, blurStd: 1, grey: true },
];
const SENSITIVITIES = [0, 0.25, 0.5, 0.75, 1];

/**
 * The classical detector the classifier replaced: |z2| (the residual from the 5x5 median over its
 * local spread) or |zc| (the coarse median's) above 5 seeds damage, which grows over neighbours
 * above 2.5 of the same sign (hysteresis), dilated by 1 px. Its best settings on seed 1 of these
 * photos; F1 0.75 there.
 */
function classical(image: Img): Uint8Array {
  const f = damageFeatures(image);
  const { h, w } = f;
  const hw = h * w;
  const z = f.data.subarray(FEATURE_NAMES.indexOf('z2') * hw);
  const zc = f.data.subarray(FEATURE_NAMES.indexOf('zc') * hw);
  const out = new Uint8Array(hw);
  for (const sign of [1, -1]) {
    const seen = new Uint8Array(hw);
    const low = (p: number) => sign * z[p] > 2.5 || sign * zc[p] > 2.5;
    for (let p0 = 0; p0 < hw; p0++) {
      if (seen[p0] || !(sign * z[p0] > 5 || sign * zc[p0] > 5)) continue;
      const stack = [p0];
      seen[p0] = 1;
      while (stack.length) {
        const p = stack.pop()!;
        out[p] = 1;
        const y = Math.floor(p / w);
        const x = p - y * w;
        for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++)
          for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
            const q = yy * w + xx;
            if (!seen[q] && low(q)) {
              seen[q] = 1;
              stack.push(q);
            }
          }
      }
    }
  }
  return nearMarked(out, h, w);
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const f3 = (x: number) => x.toFixed(3);

interface Crop {
  old: Img;
  truth: Uint8Array;
  detected: Uint8Array;
  size: number;
}

/** The square crop of side `size` at (y0, x0) of an image, planar. */
function crop(img: Img, y0: number, x0: number, size: number): Img {
  const data = new Float64Array(img.c * size * size);
  for (let c = 0; c < img.c; c++)
    for (let y = 0; y < size; y++) data.set(img.data.subarray(c * img.h * img.w + (y0 + y) * img.w + x0, c * img.h * img.w + (y0 + y) * img.w + x0 + size), c * size * size + y * size);
  return { c: img.c, h: size, w: size, data };
}

const cropMask = (m: Uint8Array, w: number, y0: number, x0: number, size: number) => {
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) out.set(m.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + size), y * size);
  return out;
};

async function contactSheet(path: string, crops: Crop[], scale: number): Promise<void> {
  const size = crops[0].size;
  const gap = 4;
  const panel = size * scale;
  const composites: OverlayOptions[] = [];
  for (const [row, c] of crops.entries()) {
    const n = size * size;
    const panels: Uint8Array[] = [0, 1, 2, 3].map(() => new Uint8Array(3 * n));
    for (let p = 0; p < n; p++) {
      for (let k = 0; k < 3; k++) panels[0][3 * p + k] = Math.round(255 * c.old.data[(c.old.c === 3 ? k : 0) * n + p]);
      panels[1].fill(c.truth[p] ? 255 : 0, 3 * p, 3 * p + 3);
      panels[2].fill(c.detected[p] ? 255 : 0, 3 * p, 3 * p + 3);
    }
    const nearTruth = nearMarked(c.truth, size, size);
    const nearDetected = nearMarked(c.detected, size, size);
    const grey = luminance(c.old);
    for (let p = 0; p < n; p++) {
      const g = Math.round(90 * grey[p]);
      let rgb = [g, g, g];
      if (c.truth[p] && nearDetected[p]) rgb = [40, 200, 40];
      else if (c.truth[p]) rgb = [230, 40, 40];
      else if (c.detected[p] && !nearTruth[p]) rgb = [60, 120, 255];
      panels[3].set(rgb, 3 * p);
    }
    for (const [col, data] of panels.entries())
      composites.push({
        input: await sharp(Buffer.from(data.buffer), { raw: { width: size, height: size, channels: 3 } })
          .resize(panel, panel, { kernel: 'nearest' })
          .png()
          .toBuffer(),
        left: col * (panel + gap),
        top: row * (panel + gap),
      });
  }
  mkdirSync(dirname(path), { recursive: true });
  await sharp({ create: { width: 4 * panel + 3 * gap, height: crops.length * panel + (crops.length - 1) * gap, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toFile(path);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { data: { type: 'string', default: 'data/dev' }, images: { type: 'string', default: '12' }, sheet: { type: 'string', default: 'docs/img/damage-detection.png' } },
  });
  const photos = pickPhotos(values.data!, Number(values.images));
  const cleans: { name: string; image: Img }[] = [];
  for (const path of photos) cleans.push({ name: path.replace(/^.*__/, ''), image: (await readImage(path)).image });
  console.log(`${photos.length} development photos at full size, damage seeds ${SEEDS.join(' and ')}; a hit is within 1 px (3x3)\n`);
  console.log(line(['setting', 'method', 'precision', 'recall', 'F1 mean', 'F1 worst (photo)', 'CPU ms/MP', 'wall ms/MP', 'damaged (true)', 'flagged']));
  console.log(line(Array(10).fill('---')));
  const crops: Crop[] = [];
  let sweepProb: { prob: Float32Array; truth: Uint8Array; h: number; w: number }[] = [];
  for (const setting of SETTINGS) {
    const methods = setting === SETTINGS[0] ? ['engine: features + MLP', 'classical baseline'] : ['engine: features + MLP'];
    for (const method of methods) {
      const scores: (DetectionScore & { photo: string })[] = [];
      let cpu = 0;
      let wall = 0;
      let mp = 0;
      let truthFraction = 0;
      let flagged = 0;
      for (const [i, { name, image }] of cleans.entries()) {
        const clean = setting.grey ? { c: 1, h: image.h, w: image.w, data: luminance(image) } : image;
        for (const seed of SEEDS) {
          const old = syntheticOldPhoto(clean, { seed, sigma: setting.sigma, blurStd: setting.blurStd });
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          let detected: Uint8Array;
          if (method === 'classical baseline') detected = classical(old.image);
          else if (setting === SETTINGS[0]) {
            // The probabilities are kept for the sensitivity sweep; the mask as detectDamage makes it.
            const prob = damageProbability(old.image);
            detected = damageMask(prob, clean.h, clean.w).damaged;
            if (seed === SEEDS[0]) sweepProb.push({ prob, truth: old.damaged, h: clean.h, w: clean.w });
          } else detected = detectDamage(old.image).damaged;
          wall += performance.now() - t0;
          const used = process.cpuUsage(c0);
          cpu += (used.user + used.system) / 1000;
          mp += (clean.h * clean.w) / 1e6;
          truthFraction += old.damaged.reduce((a, b) => a + b, 0) / old.damaged.length;
          flagged += detected.reduce((a, b) => a + b, 0) / detected.length;
          scores.push({ ...tolerantF1(old.damaged, detected, clean.h, clean.w), photo: `${name}:${seed}` });
          if (setting === SETTINGS[0] && method !== 'classical baseline' && seed === SEEDS[0] && i % 3 === 0 && crops.length < 4) {
            const size = Math.min(160, clean.h, clean.w);
            const y0 = Math.floor((clean.h - size) / 2);
            const x0 = Math.floor((clean.w - size) / 2);
            crops.push({ old: crop(old.image, y0, x0, size), truth: cropMask(old.damaged, clean.w, y0, x0, size), detected: cropMask(detected, clean.w, y0, x0, size), size });
          }
        }
      }
      const worst = scores.reduce((a, b) => (b.f1 < a.f1 ? b : a));
      const n = scores.length;
      console.log(
        line([
          setting.label,
          method,
          f3(mean(scores.map((s) => s.precision))),
          f3(mean(scores.map((s) => s.recall))),
          f3(mean(scores.map((s) => s.f1))),
          `${f3(worst.f1)} (${worst.photo})`,
          (cpu / mp).toFixed(0),
          (wall / mp).toFixed(0),
          `${((100 * truthFraction) / n).toFixed(1)}%`,
          `${((100 * flagged) / n).toFixed(1)}%`,
        ]),
      );
    }
  }
  console.log(`\nSensitivity (defaults, seed ${SEEDS[0]}):\n`);
  console.log(line(['sensitivity', 'precision', 'recall', 'F1 mean', 'flagged']));
  console.log(line(Array(5).fill('---')));
  for (const s of SENSITIVITIES) {
    const scores = sweepProb.map(({ prob, truth, h, w }) => {
      const d = damageMask(prob, h, w, s).damaged;
      return { ...tolerantF1(truth, d, h, w), flagged: d.reduce((a, b) => a + b, 0) / d.length };
    });
    console.log(
      line([s, f3(mean(scores.map((x) => x.precision))), f3(mean(scores.map((x) => x.recall))), f3(mean(scores.map((x) => x.f1))), `${(100 * mean(scores.map((x) => x.flagged))).toFixed(2)}%`]),
    );
  }
  sweepProb = [];
  const clean = cleans.map(({ image }) => {
    const plain = syntheticOldPhoto(image, { seed: SEEDS[0], damage: false });
    return detectDamage(plain.image).fraction;
  });
  console.log(`\nUndamaged photos (grain 0.03, blur std 1, no damage): ${(100 * mean(clean)).toFixed(2)}% of the pixels flagged on average, ${(100 * Math.max(...clean)).toFixed(2)}% at most.`);
  await contactSheet(values.sheet!, crops, 2);
  console.log(
    `\nwrote ${values.sheet}: per row a 160x160 centre crop (shown 2x) of a photo at the defaults, seed ${SEEDS[0]}: old photo | true damage | detected | errors (green found, red missed, blue false)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
