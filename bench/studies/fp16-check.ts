/**
 * Does the model's fp16 variant keep restoration quality? Restores development crops with VML-MAP
 * (settingsFor('vml-map', 'fast')) on one execution provider with the fp32 graphs and with the fp16
 * variant, and prints the PSNR per task for both and their difference (fp16 - fp32).
 *
 *   npm run -s build:cli && node out/cli/bench/studies/fp16-check.js [--provider webgpu] [--model DIR]
 *       [--data data/dev] [--images 3] [--size 64] [--tasks denoise,sr4,...] [--json FILE]
 *
 * The tasks are the benchmark's (bench/config.ts), on crops made as the benchmark makes them
 * (bench/images.ts: photoCrop, benchObserved; seed 1000 + image index). The criterion of the
 * issue: the fp16 variant ships only if every task's mean PSNR is within 0.1 dB of fp32's on the
 * same provider.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { psnr } from '../../engine/metrics.js';
import { PROVIDER_CHOICES, type ProviderChoice } from '../../engine/model/choices.js';
import { buildOperator, degrade } from '../../engine/job/restore.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import type { Task } from '../../engine/tasks.js';
import { TASKS } from '../config.js';
import { benchObserved, photoCrop, pickPhotos } from '../images.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      provider: { type: 'string', default: 'webgpu' },
      model: { type: 'string', default: join(ROOT, 'resources', 'models', 'default') },
      data: { type: 'string', default: join(ROOT, 'data', 'dev') },
      images: { type: 'string', default: '3' },
      size: { type: 'string', default: '64' },
      tasks: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const provider = values.provider as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider)) throw new Error(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}`);
  const size = Number(values.size);
  const tasks = TASKS.filter((t) => !t.probeOnly && !t.size && (!values.tasks || values.tasks.split(',').includes(t.id)));
  const photos = pickPhotos(values.data!, Number(values.images));
  const settingsOf = (task: Task) => settingsFor('vml-map', 'fast', task);

  const models = {
    fp32: await OnnxDenoiser.load(values.model!, { provider, precision: 'fp32' }),
    fp16: await OnnxDenoiser.load(values.model!, { provider, precision: 'fp16', trustChecksums: true }),
  };
  for (const [p, m] of Object.entries(models)) {
    if (m.provider !== provider) throw new Error(`${p}: the ${provider} provider could not start: ${m.fallbacks.map((f) => f.reason).join('; ')}`);
    if (m.precision !== p) throw new Error(`${p} asked for, got ${m.precision}: ${m.precisionFallback ?? m.precisionReason}`);
  }
  process.stderr.write(`fp16-check: ${values.model} on ${provider}, ${photos.length} photos at ${size}x${size}, VML-MAP fast\n`);

  const rows: { task: string; image: string; fp32: number; fp16: number; ms32: number; ms16: number }[] = [];
  const t0 = performance.now();
  for (const task of tasks) {
    for (const [i, image] of photos.entries()) {
      const seed = 1000 + i;
      const clean = await photoCrop(image, size);
      const observed = task.mask ? benchObserved(task.mask, size, seed) : undefined;
      const d = degrade(clean, task.spec, seed, observed);
      const op = buildOperator(task.spec, clean, observed);
      const y = task.spec.task === 'inpaint' || task.spec.task === 'colorize' ? op.forward(d.image.data) : d.image.data;
      const out: Record<string, { psnr: number; ms: number }> = {};
      for (const [p, model] of Object.entries(models)) {
        const res = await solve({ op, y, sigmaY: task.spec.sigmaY, model, seed }, settingsOf(task.spec.task));
        out[p] = { psnr: psnr(res.x, clean.data), ms: res.stats.wallMs };
      }
      const row = { task: task.id, image: image.split('/').pop()!, fp32: out.fp32!.psnr, fp16: out.fp16!.psnr, ms32: out.fp32!.ms, ms16: out.fp16!.ms };
      rows.push(row);
      process.stderr.write(`  ${row.task} ${row.image}: fp32 ${row.fp32.toFixed(3)} dB, fp16 ${row.fp16.toFixed(3)} dB (${(row.ms32 / 1000).toFixed(1)} s, ${(row.ms16 / 1000).toFixed(1)} s)\n`);
    }
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perTask = tasks.map((t) => {
    const r = rows.filter((x) => x.task === t.id);
    const diffs = r.map((x) => x.fp16 - x.fp32);
    return {
      task: t.id,
      fp32: mean(r.map((x) => x.fp32)),
      fp16: mean(r.map((x) => x.fp16)),
      diff: mean(diffs),
      maxAbsImageDiff: Math.max(...diffs.map(Math.abs)),
      s32: mean(r.map((x) => x.ms32)) / 1000,
      s16: mean(r.map((x) => x.ms16)) / 1000,
    };
  });
  const worst = Math.max(...perTask.map((t) => Math.abs(t.diff)));
  const f = (v: number, d = 3): string => v.toFixed(d);
  console.log(`| task | fp32 PSNR (dB) | fp16 PSNR (dB) | fp16 - fp32 (dB) | largest per-image abs. difference (dB) | s per restore fp32 / fp16 |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const t of perTask) console.log(`| ${t.task} | ${f(t.fp32)} | ${f(t.fp16)} | ${t.diff >= 0 ? '+' : ''}${f(t.diff)} | ${f(t.maxAbsImageDiff)} | ${f(t.s32, 1)} / ${f(t.s16, 1)} |`);
  console.log(
    `\nprovider ${provider}, ${photos.length} photos (${photos.map((p) => p.split('/').pop()).join(', ')}), ${size}x${size}, VML-MAP fast (per-task presets, engine/solvers/presets.ts); ` +
      `largest task-mean |fp16 - fp32| ${f(worst)} dB: ${worst <= 0.1 ? 'within' : 'NOT within'} 0.1 dB; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (values.json) writeFileSync(values.json, JSON.stringify({ provider, size, images: photos, rows, perTask, worst }, null, 2));
  for (const m of Object.values(models)) await m.release();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
