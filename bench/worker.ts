/**
 * One benchmark measurement in a fresh process, so that its peak memory (maxRSS) belongs to it
 * alone: `node out/cli/bench/worker.js '<Job as JSON>'`. Prints one JSON record (config.ts)
 * as the last line of stdout.
 */
import { performance } from 'node:perf_hooks';
import { OnnxDenoiser } from '../engine/model/denoiser.js';
import { psnr, ssim } from '../engine/metrics.js';
import { buildOperator, degrade } from '../engine/job/restore.js';
import { Rng } from '../engine/solvers/common.js';
import { mkdirSync } from 'node:fs';
import { kernelFromSpec } from '../engine/operators/kernels.js';
import { join } from 'node:path';
import { settingsFor, solve, type SolverSettings } from '../engine/solvers/index.js';
import type { VmlMapSettings } from '../engine/solvers/vmlmap.js';
import { DEFAULT_SOLVER, type Task } from '../engine/tasks.js';
import type { Img, Shape, SolveStats } from '../engine/types.js';
import { type Job, type RestoreRecord, type ScalingRecord, taskById, type Variant, variantById } from './config.js';
import { isMissing, restoreFlagsFromObserved } from '../engine/photo/user-mask.js';
import { benchObserved, photoCrop } from './images.js';
import { npy } from './npy.js';
import { roofline } from './roofline.js';
import { tunedSettings } from './tuned.js';

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/** PSNR over the pixels the mask leaves missing (the restored ones), all channels. */
function maskedPsnr(x: Float64Array, clean: Float64Array, observed: Float64Array): number {
  const hw = observed.length;
  let se = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++)
    if (isMissing(observed[i % hw]!)) {
      const d = Math.min(Math.max(x[i]!, 0), 1) - clean[i]!;
      se += d * d;
      n++;
    }
  return n ? 10 * Math.log10(n / se) : NaN;
}

function dumpMeasurement(root: string, task: string, imageIndex: number, clean: Img, y: Float64Array, observed?: Float64Array): void {
  const dir = join(root, task, String(imageIndex));
  mkdirSync(dir, { recursive: true });
  npy(join(dir, 'clean.npy'), clean.data, [clean.c, clean.h, clean.w]);
  npy(join(dir, 'y.npy'), y, [y.length]);
  // classical.py takes the mask as scikit-image does: 1 = to restore.
  if (observed) npy(join(dir, 'mask.npy'), Float64Array.from(restoreFlagsFromObserved(observed)), [clean.h, clean.w]);
  const kernel = taskById(task).spec.kernel;
  if (kernel) {
    const k = kernelFromSpec(kernel);
    npy(join(dir, 'kernel.npy'), k.data, [k.h, k.w]);
  }
}

/** The settings a variant runs with on a task; `matched`: VML-MAP balanced's start and network calls. */
function variantSettings(variant: Variant, task: Task, steps?: number): SolverSettings {
  if (variant.solver === 'pinv' || variant.solver === 'estimate' || variant.solver === 'one-call') throw new Error(`${variant.id} is not a solver`);
  if (variant.tuned) return tunedSettings(variant.solver as 'diffpir' | 'ddnm', task, steps);
  if (!variant.matched) return settingsFor(variant.solver, variant.preset, task, { steps: steps ?? variant.steps });
  const vml = settingsFor(DEFAULT_SOLVER, 'balanced', task).settings as VmlMapSettings;
  const base = settingsFor(variant.solver, variant.preset, task, { steps: steps ?? vml.levels * (vml.inner + 1) });
  return { ...base, settings: { ...base.settings, sigmaStart: vml.sigmaStart, start: 'estimate' } } as SolverSettings;
}

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
  const observed = task.mask ? benchObserved(task.mask, job.size, job.seed) : undefined;
  // The measurement as restore() sees it (engine/job/restore.ts): the degraded image, then y from it.
  const d = degrade(clean, spec, job.seed, observed);
  const op = buildOperator(spec, clean, observed);
  const y = spec.task === 'inpaint' || spec.task === 'colorize' ? op.forward(d.image.data) : d.image.data;

  let x: Float64Array;
  let stats: SolveStats;
  if (variant.solver === 'pinv' || variant.solver === 'estimate') {
    const t0 = performance.now();
    x = variant.solver === 'pinv' ? op.pinv(y) : op.estimate(y, spec.sigmaY).x;
    stats = { nfe: 0, vjps: 0, onnxMs: 0, wallMs: performance.now() - t0, approximateVjp: false };
    // The measurement for bench/classical.py (scikit-image's methods), once per task and image.
    if (variant.solver === 'estimate' && job.dump) dumpMeasurement(job.dump, task.id, job.imageIndex, clean, y, observed);
  } else if (variant.solver === 'one-call') {
    if (spec.task !== 'denoise') throw new Error('one-call is a denoiser: denoising only');
    const before = { ...model.counters };
    const t0 = performance.now();
    x = await model.denoise(y, clean, spec.sigmaY);
    stats = { nfe: 1, vjps: 0, onnxMs: model.counters.onnxMs - before.onnxMs, wallMs: performance.now() - t0, approximateVjp: false };
  } else {
    const settings = variantSettings(variant, spec.task);
    // Warm-up: the same solver for 3 steps on another measurement of the same operator, so that the
    // timed solve sees what a solve in the app's long-lived inference service sees (V8's compiled
    // code, onnxruntime's arenas for this size), not this fresh process's one-off start-up costs.
    const warm = variantSettings(variant, spec.task, 3);
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
    maskedPsnr: finite && observed ? maskedPsnr(x, clean.data, observed) : undefined,
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
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) data[c * n + i * size + j] = 0.5 + 0.3 * Math.sin((i + 7 * c) / 11) * Math.cos(j / 17) + 0.05 * rng.normal();
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
    const res = await solve({ op, y: img.data, sigmaY: 0.05, model, seed: job.seed }, settingsFor('vml-map', 'fast', 'denoise'));
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
