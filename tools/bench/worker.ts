/**
 * One benchmark measurement in a fresh process, so that its peak memory (maxRSS) belongs to it
 * alone: `node out/cli/tools/bench/worker.js '<Job as JSON>'`. Prints one JSON record (config.ts)
 * as the last line of stdout.
 */
import { performance } from 'node:perf_hooks';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { psnr, ssim } from '../../engine/metrics.js';
import { buildOperator, degrade } from '../../engine/restore.js';
import { Rng } from '../../engine/solvers/common.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import type { Img, Shape, SolveStats } from '../../engine/types.js';
import { type Job, type RestoreRecord, type ScalingRecord, taskById, variantById } from './config.js';
import { benchMask, photoCrop } from './images.js';
import { roofline } from './roofline.js';

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

async function restoreJob(job: Extract<Job, { kind: 'restore' }>): Promise<RestoreRecord> {
  const task = taskById(job.task);
  const variant = variantById(job.variant);
  const tLoad = performance.now();
  const dir = variant.forwardOnly ? job.fdModel : job.model;
  if (!dir) throw new Error(`variant ${variant.id} needs the forward-only model copy`);
  // The parent verified the checksums once; each child would otherwise hash 16 MB again.
  const model = await OnnxDenoiser.load(dir, { provider: 'cpu', trustChecksums: true });
  const loadMs = performance.now() - tLoad;
  const loadRss = peakRss();

  const clean = await photoCrop(job.image, job.size);
  const spec = task.spec;
  const mask = task.mask ? benchMask(task.mask, job.size, job.seed) : undefined;
  // The measurement as restore() sees it (engine/restore.ts): the degraded image, then y from it.
  const d = degrade(clean, spec, job.seed, mask);
  const op = buildOperator(spec, clean, mask);
  const y = spec.task === 'inpaint' || spec.task === 'colorize' ? op.forward(d.image.data) : d.image.data;

  let x: Float64Array;
  let stats: SolveStats;
  if (variant.solver === 'pinv') {
    const t0 = performance.now();
    x = op.pinv(y);
    stats = { nfe: 0, vjps: 0, onnxMs: 0, wallMs: performance.now() - t0, approximateVjp: false };
  } else {
    const settings = settingsFor(variant.solver, variant.preset, {
      steps: variant.steps,
      vml: variant.stepRule ? { stepRule: variant.stepRule } : undefined,
    });
    // Warm-up: the same solver for 3 steps on another measurement of the same operator, so that the
    // timed solve sees what a solve in the app's long-lived inference service sees (V8's compiled
    // code, onnxruntime's arenas for this size), not this fresh process's one-off start-up costs.
    const warm = settingsFor(variant.solver, variant.preset, { steps: 3, vml: variant.stepRule ? { stepRule: variant.stepRule } : undefined });
    const grey = op.forward(new Float64Array(clean.data.length).fill(0.5));
    await solve({ op, y: grey, sigmaY: spec.sigmaY, model, seed: job.seed + 1 }, warm);
    const res = await solve({ op, y, sigmaY: spec.sigmaY, model, seed: job.seed }, settings);
    x = res.x;
    stats = res.stats;
  }
  const out: Img = { ...clean, data: x };
  const finite = x.every((v) => Number.isFinite(v));
  const record: RestoreRecord = {
    kind: 'restore',
    task: task.id,
    variant: variant.id,
    image: job.image.split('/').pop()!,
    imageIndex: job.imageIndex,
    size: job.size,
    psnr: finite ? psnr(x, clean.data) : NaN,
    ssim: finite ? ssim(out, clean) : NaN,
    nfe: stats.nfe,
    vjps: stats.vjps,
    wallMs: stats.wallMs,
    onnxMs: stats.onnxMs,
    approximateVjp: stats.approximateVjp,
    peakRss: peakRss(),
    loadRss,
    loadMs,
  };
  await model.release();
  return record;
}

/** A smooth synthetic image with some texture: timings do not depend on the content. */
function synthetic(size: number, seed: number): Img {
  const rng = new Rng(seed);
  const n = size * size;
  const data = new Float64Array(3 * n);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) data[c * n + i * size + j] = 0.5 + 0.3 * Math.sin((i + 7 * c) / 11) * Math.cos(j / 17) + 0.05 * rng.normal();
  return { c: 3, h: size, w: size, data };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function scalingJob(job: Extract<Job, { kind: 'scaling' }>): Promise<ScalingRecord> {
  const model = await OnnxDenoiser.load(job.model, { provider: 'cpu', trustChecksums: true });
  const loadRss = peakRss();
  const img = synthetic(job.size, job.seed);
  const shape: Shape = img;
  const sigma = 0.2;
  const z = Float64Array.from(img.data, (v, i) => v + sigma * Math.sin(i * 12.9898));
  let t0 = performance.now();
  await model.denoise(z, shape, sigma);
  const firstForwardMs = performance.now() - t0;
  // Repeat while cheap: about 3 s of forwards, at least one and at most 5.
  const reps = Math.max(1, Math.min(5, Math.floor(3000 / firstForwardMs)));
  const times: number[] = [];
  for (let k = 0; k < reps; k++) {
    t0 = performance.now();
    await model.denoise(z, shape, sigma);
    times.push(performance.now() - t0);
  }
  let fastMs = NaN;
  let fastOnnxMs = NaN;
  if (job.fullRun) {
    const op = buildOperator({ task: 'denoise', sigmaY: 0.05 }, shape);
    const res = await solve({ op, y: img.data, sigmaY: 0.05, model, seed: job.seed }, settingsFor('vml-map', 'fast'));
    fastMs = res.stats.wallMs;
    fastOnnxMs = res.stats.onnxMs;
  }
  const forwardRss = peakRss();
  let vjpMs = NaN;
  if (job.withVjp && model.hasVjp) {
    t0 = performance.now();
    await model.jtv(z, shape, sigma, img.data);
    vjpMs = performance.now() - t0;
  }
  const record: ScalingRecord = {
    kind: 'scaling',
    size: job.size,
    withVjp: job.withVjp && model.hasVjp,
    forwardMs: median(times),
    vjpMs,
    firstForwardMs,
    fastMs,
    fastOnnxMs,
    forwardRss,
    peakRss: peakRss(),
    loadRss,
  };
  await model.release();
  return record;
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: worker.js <job as JSON>');
  const job = JSON.parse(arg) as Job;
  let record: unknown;
  if (job.kind === 'restore') record = await restoreJob(job);
  else if (job.kind === 'scaling') record = await scalingJob(job);
  else record = await roofline(job);
  process.stdout.write(`\n${JSON.stringify(record)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
