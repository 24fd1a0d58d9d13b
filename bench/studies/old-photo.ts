/**
 * Old photos in one run, measured on synthetic old photos of the development photos (blur std 1,
 * grain 0.03, scratches, dust and blotches drawn in: engine/synthetic/old-photo.ts):
 *
 *  - `--study steps`: the preconditioned CG iterations of the chain's Gauss-Newton step
 *    (CHAIN_STEP_CG), and candidate schedules for the old-photo presets: PSNR, stationarity, time;
 *  - `--study table` (default): VML-MAP's one solve told the truth (mask, sigma_y, blur) and with
 *    everything estimated from the photo (damage detection, noise level, blur width); two
 *    single-task passes (inpaint, then deblur) for comparison; the classical pipeline told the true
 *    mask and noise level (bench/classical.py: biharmonic, then non-local means with the best h; and
 *    the same then the best Wiener filter); a deblur-only solve at the same size for the cost ratio.
 *    Writes docs/img/old-photo.png (old photo | classical | one run, estimated | one run, told | truth).
 *
 *  - `--study estimates`: per photo, what estimateOldPhoto reads (sigma_y, blur, damage F1 at this
 *    size) and the restore with the detected mask against the true one (sigma_y and blur told);
 *  - `--study cost`: one balanced solve at 512x512 per single task and for the old photo's chains;
 *  - `--study sensitivity`: the damage mask for the restore (hard thresholds, soft weights over
 *    bands of the detector's probability), to be chosen on held-out training photos
 *    (`--data data/train --held-out`); RULES=prefix,prefix runs only the rules named so;
 *  - `--study misses`: what the detected mask's misses and false alarms each cost;
 *  - `--study two-pass`: a second solve with the first one's large residuals marked damaged.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/old-photo.js [--images 12] [--size 256|full] [--study table|steps|estimates|cost|sensitivity|misses|two-pass] [--rows all|core] [--data DIR] [--held-out]
 *
 * `--size full` takes each photo whole at its own size; `--rows core` runs only the one solve told
 * the truth, everything estimated and the mask detected (the full-size table's rows), and the sheet
 * shows each image's centred 256x256 window at 1:1.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { cropPlanar } from '../../engine/job/problem.js';
import { degrade, restore } from '../../engine/job/restore.js';
import { psnr, tolerantF1 } from '../../engine/metrics.js';
import { areaClosing } from '../../engine/estimate/area-closing.js';
import { damageMask, damageProbability, damageTrust } from '../../engine/estimate/damage.js';
import * as estimates from '../../engine/estimate/old-photo.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { Blur } from '../../engine/operators/blur.js';
import { Composition } from '../../engine/operators/compose.js';
import { gaussianKernel } from '../../engine/operators/kernels.js';
import { Mask } from '../../engine/operators/mask.js';
import { readImage } from '../../engine/photo/image.js';
import { restoreFlagsFromObserved } from '../../engine/photo/user-mask.js';
import { solve } from '../../engine/solvers/index.js';
import { VMLMAP_DEFAULTS, type VmlMapSettings } from '../../engine/solvers/vmlmap.js';
import type { TaskSpec } from '../../engine/tasks.js';
import type { Img } from '../../engine/types.js';
import { lastPhotos, pickPhotos, photoCrop } from '../images.js';
import { npy } from '../npy.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const SPEC: TaskSpec = { task: 'old-photo', kernel: { type: 'gaussian', std: 1 }, sigmaY: 0.03 };
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const name = (p: string): string =>
  p
    .split('__')
    .pop()!
    .replace(/\.[a-z]+$/i, '');

interface Photo {
  name: string;
  clean: Img;
  old: Img;
  observed: Float64Array;
}

/** size 0: each photo whole, at its own size (what the app restores). */
async function photos(data: string, count: number, size: number, heldOut = false): Promise<Photo[]> {
  const out: Photo[] = [];
  for (const [i, p] of (heldOut ? lastPhotos(data, count) : pickPhotos(data, count)).entries()) {
    const clean = size > 0 ? await photoCrop(p, size) : rgb((await readImage(p)).image);
    const d = degrade(clean, SPEC, 100 + i);
    out.push({ name: name(p), clean, old: d.image, observed: d.observed! });
  }
  return out;
}

/** Grey photos as three equal planes, so that every photo of the set is colour alike. */
function rgb(img: Img): Img {
  if (img.c === 3) return img;
  const n = img.h * img.w;
  const data = new Float64Array(3 * n);
  for (let ch = 0; ch < 3; ch++) data.set(img.data.subarray(0, n), ch * n);
  return { c: 3, h: img.h, w: img.w, data };
}

/** The centred side x side window of an image at 1:1 (all of it when smaller), for contact sheets. */
function centre(img: Img, side: number): Img {
  const s = Math.min(side, img.h, img.w);
  const y0 = Math.floor((img.h - s) / 2);
  const x0 = Math.floor((img.w - s) / 2);
  return { c: img.c, h: s, w: s, data: cropPlanar(img.data, img, { y0, y1: y0 + s, x0, x1: x0 + s }) };
}

/** Candidate schedules (balanced-sized and fast-sized), and CG iteration counts of the chain's step. */
const SCHEDULES: Record<string, Partial<VmlMapSettings>> = {
  'deblur balanced: 0.25, 6x4, end 0.5 sy': { sigmaStart: 0.25, sigmaEndPerSigmaY: 0.5, levels: 6, inner: 4 },
  'inpaint balanced: 0.5, 10x3': { sigmaStart: 0.5, levels: 10, inner: 3 },
  'deblur fast: 0.25, 5x2': { sigmaStart: 0.25, levels: 5, inner: 2 },
  '0.25, 5x2, end 1 sy': { sigmaStart: 0.25, sigmaEndPerSigmaY: 1, levels: 5, inner: 2 },
  '0.25, 4x2': { sigmaStart: 0.25, levels: 4, inner: 2 },
  '0.25, 3x3': { sigmaStart: 0.25, levels: 3, inner: 3 },
  '0.5, 5x2': { sigmaStart: 0.5, levels: 5, inner: 2 },
  '0.12, 5x2': { sigmaStart: 0.12, levels: 5, inner: 2 },
  '0.25, 8x2': { sigmaStart: 0.25, levels: 8, inner: 2 },
  '0.25, 5x3': { sigmaStart: 0.25, levels: 5, inner: 3 },
};
const CG_ITERATIONS = [1, 2, 3, 5, 10];

async function studySteps(model: OnnxDenoiser, set: Photo[]): Promise<void> {
  const line = (c: (string | number)[]): void => void process.stdout.write(`| ${c.join(' | ')} |\n`);
  const run = async (settings: VmlMapSettings, maxIter: number) => {
    const r = { psnr: [] as number[], stationarity: [] as number[], seconds: [] as number[] };
    for (const [i, p] of set.entries()) {
      const shape = { c: 3, h: p.clean.h, w: p.clean.w };
      const op = new Composition([new Blur(shape, gaussianKernel(1)), new Mask(shape, p.observed)], { stepCg: { maxIter } });
      const y = op.operators[1]!.forward(p.old.data);
      const t0 = performance.now();
      const res = await solve({ op, y, sigmaY: SPEC.sigmaY, model, seed: i }, { solver: 'vml-fp', settings });
      r.seconds.push((performance.now() - t0) / 1000);
      r.psnr.push(psnr(res.x, p.clean.data));
      r.stationarity.push(res.stats.stationarity ?? NaN);
    }
    return r;
  };
  process.stdout.write('\nCG iterations of the chain step (vml-fp balanced settings of deblurring):\n\n');
  line(['CG iterations', 'PSNR (dB)', 'stationarity', 'time (s)']);
  line(['---', '---', '---', '---']);
  const base = { ...VMLMAP_DEFAULTS, ...SCHEDULES['deblur balanced: 0.25, 6x4, end 0.5 sy'], stepRule: 'fixed-point' as const };
  for (const k of process.env.CHAIN_CG ? [] : CG_ITERATIONS) {
    const r = await run(base, k);
    line([k, mean(r.psnr).toFixed(2), mean(r.stationarity).toExponential(1), mean(r.seconds).toFixed(2)]);
  }
  const iterations = Number(process.env.CHAIN_CG ?? 3);
  process.stdout.write(`\nSchedules (${iterations} CG iterations):\n\n`);
  line(['schedule', 'mean PSNR (dB)', 'worst photo (dB)', 'stationarity', 'time (s)']);
  line(['---', '---', '---', '---', '---']);
  for (const [label, s] of Object.entries(SCHEDULES)) {
    const r = await run({ ...VMLMAP_DEFAULTS, ...s, stepRule: 'fixed-point' }, iterations);
    line([label, mean(r.psnr).toFixed(2), Math.min(...r.psnr).toFixed(2), mean(r.stationarity).toExponential(1), mean(r.seconds).toFixed(2)]);
  }
}

/** bench/classical.py's old-photo rows per photo: method -> PSNR, and the outputs it saved. */
function classical(set: Photo[]): { rows: { method: string; imageIndex: number; psnr: number }[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'old-photo-'));
  writeFileSync(join(dir, 'tasks.json'), JSON.stringify({ 'old-photo': { spec: SPEC } }));
  const k = gaussianKernel(1);
  for (const [i, p] of set.entries()) {
    const d = join(dir, 'old-photo', String(i));
    mkdirSync(d, { recursive: true });
    npy(join(d, 'clean.npy'), p.clean.data, [3, p.clean.h, p.clean.w]);
    npy(join(d, 'y.npy'), p.old.data, [p.old.data.length]);
    npy(join(d, 'mask.npy'), Float64Array.from(restoreFlagsFromObserved(p.observed)), [p.clean.h, p.clean.w]);
    npy(join(d, 'kernel.npy'), k.data, [k.h, k.w]);
  }
  const out = join(dir, 'classical.json');
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'classical.py'), '--dump', dir, '--out', out, '--save-outputs'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/classical.py failed: ${r.stderr}`);
  return { rows: JSON.parse(readFileSync(out, 'utf8')), dir };
}

function readNpy(path: string): Float64Array {
  const buf = readFileSync(path);
  const headerLength = buf.readUInt16LE(8);
  const body = buf.subarray(10 + headerLength);
  return new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}

async function studyTable(model: OnnxDenoiser, set: Photo[], sheetPath: string, all: boolean): Promise<void> {
  type Row = { psnr: number[]; seconds: number[]; nfe: number[] };
  const rows: Record<string, Row> = {};
  const add = (k: string, v: number, s: number, n: number): void => {
    rows[k] ??= { psnr: [], seconds: [], nfe: [] };
    rows[k].psnr.push(v);
    rows[k].seconds.push(s);
    rows[k].nfe.push(n);
  };
  const sheet: Img[][] = [];
  const sigmaErrors: number[] = [];
  const blurErrors: number[] = [];
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const { rows: classic, dir } = classical(set);
  for (const [i, p] of set.entries()) {
    add('old photo (input)', psnr(p.old.data, p.clean.data), 0, 0);
    const told = await restore(model, { image: p.old, observed: p.observed, spec: SPEC, solver });
    add('VML-MAP one solve, told the mask, sigma_y and blur', psnr(told.image.data, p.clean.data), told.stats.wallMs / 1000, told.stats.nfe);
    let guessed: Img;
    {
      const t0 = performance.now();
      const e = estimates.estimateOldPhoto(p.old);
      sigmaErrors.push(Math.abs(e.sigmaY / SPEC.sigmaY - 1));
      blurErrors.push(Math.abs(e.blurStd - (SPEC.kernel as { std: number }).std));
      const spec: TaskSpec = { ...SPEC, sigmaY: e.sigmaY, kernel: e.kernel };
      const res = await restore(model, { image: p.old, observed: e.observed, spec, solver });
      guessed = res.image;
      add('VML-MAP one solve, everything estimated from the photo', psnr(res.image.data, p.clean.data), (performance.now() - t0) / 1000, res.stats.nfe);
      const variants: [string, Parameters<typeof estimates.estimateOldPhoto>[1]][] = [
        ['the mask detected (soft), sigma_y and blur told', { sigmaY: SPEC.sigmaY, kernel: SPEC.kernel }],
        ...(all
          ? ([
              ['everything estimated, the hard mask detect draws', { softDamage: false }],
              ['the blur estimated, mask and sigma_y told', { observed: p.observed, sigmaY: SPEC.sigmaY }],
            ] as [string, Parameters<typeof estimates.estimateOldPhoto>[1]][])
          : []),
      ];
      for (const [label, given] of variants) {
        const v = estimates.estimateOldPhoto(p.old, given);
        const r = await restore(model, { image: p.old, observed: v.observed, spec: { ...SPEC, sigmaY: v.sigmaY, kernel: v.kernel }, solver });
        add(`VML-MAP one solve, ${label}`, psnr(r.image.data, p.clean.data), r.stats.wallMs / 1000, r.stats.nfe);
      }
    }
    if (all) {
      // Two single-task passes: inpaint the damage, then deblur (and denoise) the result.
      const t0 = performance.now();
      const first = await restore(model, { image: p.old, observed: p.observed, spec: { task: 'inpaint', sigmaY: SPEC.sigmaY }, solver });
      const second = await restore(model, { image: first.image, spec: { task: 'deblur', kernel: SPEC.kernel, sigmaY: SPEC.sigmaY }, solver });
      add('VML-MAP two passes: inpaint, then deblur', psnr(second.image.data, p.clean.data), (performance.now() - t0) / 1000, first.stats.nfe + second.stats.nfe);
      add('(cost reference) VML-MAP deblur alone', NaN, second.stats.wallMs / 1000, second.stats.nfe);
    }
    for (const c of classic.filter((c) => c.imageIndex === i)) add(c.method, c.psnr, NaN, 0);
    const best = join(dir, 'old-photo', String(i), 'out-1.npy');
    const classicalImg = { ...p.clean, data: readNpy(best) };
    if (i < 4) sheet.push([p.old, classicalImg, guessed, told.image, p.clean].map((x) => centre(x, 256)));
    process.stderr.write(`${p.name} done\n`);
  }
  rmSync(dir, { recursive: true, force: true });
  const line = (c: (string | number)[]): void => void process.stdout.write(`| ${c.join(' | ')} |\n`);
  line(['method', 'mean PSNR (dB)', '95% interval', 'worst photo (dB)', 'time (s)', 'network calls']);
  line(['---', '---', '---', '---', '---', '---']);
  for (const [k, r] of Object.entries(rows)) {
    const v = r.psnr.filter(Number.isFinite);
    const m = mean(v);
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1));
    const half = (1.96 * sd) / Math.sqrt(v.length);
    const t = r.seconds.filter(Number.isFinite);
    line([k, v.length ? m.toFixed(2) : '-', v.length ? `±${half.toFixed(2)}` : '-', v.length ? Math.min(...v).toFixed(2) : '-', t.length ? mean(t).toFixed(2) : '-', mean(r.nfe).toFixed(0)]);
  }
  {
    process.stdout.write(
      `\nEstimates on these old photos: sigma_y mean error ${(100 * mean(sigmaErrors)).toFixed(1)}%, worst ${(100 * Math.max(...sigmaErrors)).toFixed(1)}%; ` +
        `blur std mean error ${mean(blurErrors).toFixed(2)} px, worst ${Math.max(...blurErrors).toFixed(2)} px.\n`,
    );
  }
  const sizes = set.every((p) => p.clean.w === set[0]!.clean.w && p.clean.h === set[0]!.clean.h) ? `at ${set[0]!.clean.w}x${set[0]!.clean.h}` : 'whole, at their own sizes';
  process.stdout.write(`\n${set.length} photos ${sizes}; synthetic damage seeds 100 + k; vml-fp balanced.\n`);
  await writeSheet(sheet, sheetPath);
}

/** Rows of images side by side, 4 px apart, as a PNG. */
async function writeSheet(rows: Img[][], path: string): Promise<void> {
  if (!rows.length) return;
  const s = rows[0]![0]!.h;
  const gap = 4;
  const cols = rows[0]!.length;
  const W = cols * s + (cols - 1) * gap;
  const H = rows.length * s + (rows.length - 1) * gap;
  const buf = Buffer.alloc(W * H * 3, 255);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      const n = s * s;
      for (let p = 0; p < n; p++)
        for (let ch = 0; ch < 3; ch++) {
          const v = Math.round(255 * Math.min(1, Math.max(0, img.data[ch * n + p]!)));
          const x = c * (s + gap) + (p % s);
          const y = r * (s + gap) + Math.floor(p / s);
          buf[(y * W + x) * 3 + ch] = v;
        }
    }),
  );
  await sharp(buf, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(path);
}

/** Wall time of one balanced solve at 512x512 per task, the old photo's chains among them (the fastest of two runs). */
async function studyCost(model: OnnxDenoiser, data: string): Promise<void> {
  const clean = await photoCrop(pickPhotos(data, 1)[0]!, 512);
  const d = degrade(clean, SPEC, 1);
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const jobs: [string, Parameters<typeof restore>[1]][] = [
    ['denoise', { image: d.image, spec: { task: 'denoise', sigmaY: 0.03 }, solver }],
    ['deblur (gaussian 1)', { image: d.image, spec: { task: 'deblur', kernel: SPEC.kernel, sigmaY: 0.03 }, solver }],
    ['inpaint (the damage)', { image: d.image, observed: d.observed, spec: { task: 'inpaint', sigmaY: 0.03 }, solver, tiling: { regions: false } }],
    ['old-photo: blur, mask', { image: d.image, observed: d.observed, spec: SPEC, solver }],
    ['old-photo: blur, luma, mask', { image: d.image, observed: d.observed, spec: { ...SPEC, colorize: true }, solver }],
  ];
  process.stdout.write('| task, vml-fp balanced, 512x512 | time (s) | network calls |\n| --- | --- | --- |\n');
  for (const [label, job] of jobs) {
    let best = Infinity;
    let nfe = 0;
    for (let k = 0; k < 2; k++) {
      const r = await restore(model, job);
      best = Math.min(best, r.stats.wallMs / 1000);
      nfe = r.stats.nfe;
    }
    process.stdout.write(`| ${label} | ${best.toFixed(2)} | ${nfe} |\n`);
  }
}

/** Per photo: the estimates' errors, detection F1 at this size, and the restore with the detected mask (sigma_y and blur told). */
async function studyEstimates(model: OnnxDenoiser, set: Photo[]): Promise<void> {
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const line = (c: (string | number)[]): void => void process.stdout.write(`| ${c.join(' | ')} |\n`);
  line(['photo', 'sigma_y read', 'blur std read', 'detection F1', 'flagged', 'PSNR, detected mask (dB)', 'PSNR, true mask (dB)']);
  line(['---', '---', '---', '---', '---', '---', '---']);
  const all = { sigma: [] as number[], blur: [] as number[], f1: [] as number[], detected: [] as number[], truth: [] as number[] };
  for (const p of set) {
    const e = estimates.estimateOldPhoto(p.old);
    // F1 of the mask `detect` draws (the restore's soft weights also trust some pixels below its cut less).
    const hard = estimates.estimateOldPhoto(p.old, { softDamage: false, sigmaY: e.sigmaY, kernel: null });
    const f1 = tolerantF1(restoreFlagsFromObserved(p.observed), restoreFlagsFromObserved(hard.observed), p.clean.h, p.clean.w).f1;
    const spec = { ...SPEC };
    const detected = await restore(model, { image: p.old, observed: e.observed, spec, solver });
    const told = await restore(model, { image: p.old, observed: p.observed, spec, solver });
    const [a, b] = [psnr(detected.image.data, p.clean.data), psnr(told.image.data, p.clean.data)];
    Object.entries({ sigma: Math.abs(e.sigmaY / SPEC.sigmaY - 1), blur: Math.abs(e.blurStd - 1), f1, detected: a, truth: b }).forEach(([k, v]) => all[k as keyof typeof all].push(v));
    line([p.name, e.sigmaY.toFixed(4), e.blurStd.toFixed(2), f1.toFixed(3), `${(100 * e.damaged).toFixed(1)}%`, a.toFixed(2), b.toFixed(2)]);
  }
  line(['**mean**', `${(100 * mean(all.sigma)).toFixed(1)}% off`, `${mean(all.blur).toFixed(2)} px off`, mean(all.f1).toFixed(3), '', mean(all.detected).toFixed(2), mean(all.truth).toFixed(2)]);
  process.stdout.write(`\nTruth: sigma_y ${SPEC.sigmaY}, blur std 1; worst blur error ${Math.max(...all.blur).toFixed(2)} px, worst sigma_y error ${(100 * Math.max(...all.sigma)).toFixed(1)}%.\n`);
}

/**
 * The damage mask for the restore, chosen on held-out training photos (`--data data/train`: the
 * last photos by name, the 15% the detector's training held out): per candidate, the restore with
 * the detected mask (sigma_y and blur told) against the one with the true mask.
 */
/** Observed weights falling from 1 at probability `lo` to 0 at `hi`, linear in the logit. */
const band =
  (lo: number, hi: number) =>
  (p: Float32Array): Float64Array => {
    const [l0, l1] = [Math.log(lo / (1 - lo)), Math.log(hi / (1 - hi))];
    return Float64Array.from(p, (q) => {
      const l = Math.log(Math.max(q, 1e-9) / Math.max(1 - q, 1e-9));
      return Math.min(1, Math.max(0, (l1 - l) / (l1 - l0)));
    });
  };
/** The probability with its pits smaller than a disc of radius k times the short side filled. */
const closed = (p: Float32Array, h: number, w: number, k: number): Float32Array => areaClosing(p, h, w, Math.PI * (k * Math.min(h, w)) ** 2);
const MASK_RULES: Record<string, (prob: Float32Array, h: number, w: number) => Float64Array> = {
  'hard, sensitivity 0.5 (what detect draws)': (p, h, w) => Float64Array.from(damageMask(p, h, w, 0.5).damaged, (d) => 1 - d),
  'hard, sensitivity 0.65': (p, h, w) => Float64Array.from(damageMask(p, h, w, 0.65).damaged, (d) => 1 - d),
  'hard, sensitivity 0.8': (p, h, w) => Float64Array.from(damageMask(p, h, w, 0.8).damaged, (d) => 1 - d),
  'soft, 0.1 to 0.4 (the cut): shipped, damageTrust': (p, h, w) => damageTrust(p, h, w),
  'soft, pits filled to radius 2% of the short side (shipped: 1%)': (p, h, w) => damageTrust(closed(p, h, w, 0.02), h, w),
  'soft, 0.05 to 0.3': band(0.05, 0.3),
  'soft, 0.05 to 0.2': band(0.05, 0.2),
  'soft, 0.1 to 0.7': band(0.1, 0.7),
  'soft, 0.1 to 0.9': band(0.1, 0.9),
  'soft, 0.2 to 0.8': band(0.2, 0.8),
};

async function studySensitivity(model: OnnxDenoiser, set: Photo[]): Promise<void> {
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const line = (c: (string | number)[]): void => void process.stdout.write(`| ${c.join(' | ')} |\n`);
  const rows: Record<string, { psnr: number[]; f1: number[]; flagged: number[] }> = {};
  for (const p of set) {
    const prob = damageProbability(p.old);
    const { h, w } = p.clean;
    const told = await restore(model, { image: p.old, observed: p.observed, spec: SPEC, solver });
    (rows['the true mask'] ??= { psnr: [], f1: [], flagged: [] }).psnr.push(psnr(told.image.data, p.clean.data));
    for (const [label, rule] of Object.entries(MASK_RULES)) {
      if (process.env.RULES && !process.env.RULES.split(',').some((r) => label.startsWith(r))) continue;
      const observed = rule(prob, h, w);
      const r = await restore(model, { image: p.old, observed, spec: SPEC, solver });
      const flags = restoreFlagsFromObserved(observed);
      const row = (rows[label] ??= { psnr: [], f1: [], flagged: [] });
      row.psnr.push(psnr(r.image.data, p.clean.data));
      row.f1.push(tolerantF1(restoreFlagsFromObserved(p.observed), flags, h, w).f1);
      row.flagged.push(flags.reduce((a, b) => a + b, 0) / (h * w));
    }
    process.stderr.write(
      `${p.name}: ${Object.entries(rows)
        .map(([k, r]) => `${k.slice(0, 16)} ${r.psnr.at(-1)!.toFixed(2)}`)
        .join(', ')}\n`,
    );
  }
  line(['damage mask', 'mean PSNR (dB)', 'worst photo (dB)', 'F1', 'flagged']);
  line(['---', '---', '---', '---', '---']);
  for (const [k, r] of Object.entries(rows))
    line([k, mean(r.psnr).toFixed(2), Math.min(...r.psnr).toFixed(2), r.f1.length ? mean(r.f1).toFixed(3) : '', r.flagged.length ? `${(100 * mean(r.flagged)).toFixed(1)}%` : '']);
}

/**
 * What a wrong mask costs (sigma_y and blur told): the true mask; the detected one (hard); the
 * detected one with every true damaged pixel added (its false alarms alone); the true one less what
 * detection missed (its misses alone).
 */
async function studyMisses(model: OnnxDenoiser, set: Photo[]): Promise<void> {
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const rows: Record<string, number[]> = {};
  for (const p of set) {
    const e = estimates.estimateOldPhoto(p.old, { sigmaY: SPEC.sigmaY, kernel: SPEC.kernel, softDamage: false });
    const [T, D] = [p.observed, e.observed];
    const masks = {
      'the true mask': T,
      'the detected mask (hard)': D,
      'detected plus every true damaged pixel (false alarms only)': T.map((t, j) => Math.min(t, D[j]!)),
      'true less what detection missed (misses only)': T.map((t, j) => Math.max(t, D[j]!)),
    };
    for (const [k, observed] of Object.entries(masks)) {
      const r = await restore(model, { image: p.old, observed, spec: SPEC, solver });
      (rows[k] ??= []).push(psnr(r.image.data, p.clean.data));
    }
    process.stderr.write(
      `${p.name}: ${Object.values(rows)
        .map((v) => v.at(-1)!.toFixed(2))
        .join(' ')}\n`,
    );
  }
  process.stdout.write('| damage mask | mean PSNR (dB) | worst photo (dB) |\n| --- | --- | --- |\n');
  for (const [k, v] of Object.entries(rows)) process.stdout.write(`| ${k} | ${mean(v).toFixed(2)} | ${Math.min(...v).toFixed(2)} |\n`);
}

/**
 * A second pass: after the one solve with the soft weights, pixels whose luma residual against the
 * blurred result exceeds k times the luma's noise are marked damaged too, and the photo is solved
 * again (twice the network calls).
 */
async function studyTwoPass(model: OnnxDenoiser, set: Photo[]): Promise<void> {
  const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number): number => (rows[k] ??= []).push(v);
  const [wr, wg, wb] = [0.299, 0.587, 0.114];
  for (const p of set) {
    const { h, w } = p.clean;
    const n = h * w;
    const trust = damageTrust(damageProbability(p.old), h, w);
    const one = await restore(model, { image: p.old, observed: trust, spec: SPEC, solver });
    add('one solve, soft weights (shipped)', psnr(one.image.data, p.clean.data));
    const pred = new Blur({ c: 3, h, w }, gaussianKernel(1)).forward(one.image.data);
    const y = p.old.data;
    for (const k of [2.5, 3, 4]) {
      const observed = Float64Array.from(trust);
      for (let q = 0; q < n; q++) {
        const r = wr * (y[q]! - pred[q]!) + wg * (y[n + q]! - pred[n + q]!) + wb * (y[2 * n + q]! - pred[2 * n + q]!);
        if (Math.abs(r) > k * SPEC.sigmaY * Math.hypot(wr, wg, wb)) observed[q] = 0;
      }
      const two = await restore(model, { image: p.old, observed, spec: SPEC, solver });
      add(`two passes, residual above ${k} sigma marked`, psnr(two.image.data, p.clean.data));
    }
    process.stderr.write(
      `${p.name}: ${Object.values(rows)
        .map((v) => v.at(-1)!.toFixed(2))
        .join(' ')}\n`,
    );
  }
  process.stdout.write('| restore (sigma_y and blur told) | mean PSNR (dB) | worst photo (dB) |\n| --- | --- | --- |\n');
  for (const [k, v] of Object.entries(rows)) process.stdout.write(`| ${k} | ${mean(v).toFixed(2)} | ${Math.min(...v).toFixed(2)} |\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'data/dev' },
      images: { type: 'string', default: '12' },
      size: { type: 'string', default: '256' },
      study: { type: 'string', default: 'table' },
      sheet: { type: 'string', default: 'docs/img/old-photo.png' },
      'held-out': { type: 'boolean', default: false },
      rows: { type: 'string', default: 'all' },
    },
  });
  const model = await OnnxDenoiser.load('resources/models/default', { provider: 'cpu' });
  const size = values.size === 'full' ? 0 : Number(values.size);
  const set = values.study === 'cost' ? [] : await photos(values.data!, Number(values.images), size, values['held-out']);
  if (values.study === 'cost') await studyCost(model, values.data!);
  else if (values.study === 'steps') await studySteps(model, set);
  else if (values.study === 'estimates') await studyEstimates(model, set);
  else if (values.study === 'sensitivity') await studySensitivity(model, set);
  else if (values.study === 'misses') await studyMisses(model, set);
  else if (values.study === 'two-pass') await studyTwoPass(model, set);
  else await studyTable(model, set, values.sheet!, values.rows !== 'core');
  await model.release();
}

main();
