/** The three CLI commands: restore, degrade, eval. */
import { readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { checkImageOutput, openImage, type OpenedImage, readImage, readMask, writeImage } from '../engine/photo/image.js';
import { restorePhoto } from '../engine/photo/restore-photo.js';
import { holeObserved, scratchesObserved } from '../engine/photo/masks.js';
import { countMissing, restoreImageFromObserved } from '../engine/photo/user-mask.js';
import { estimateNoiseLevel } from '../engine/estimate/noise-level.js';
import { estimatedBlurKernel, SHARP_STD } from '../engine/estimate/blur-width.js';
import { psnr, ssim } from '../engine/metrics.js';
import type { Denoiser } from '../engine/model/denoiser.js';
import { degrade, type Preflight, preflight, restore } from '../engine/job/restore.js';
import { formatDuration, JobTooLongError } from '../engine/job/time-estimate.js';
import type { TaskSpec } from '../engine/tasks.js';
import type { TilingOptions } from '../engine/job/types.js';
import { CancelledError, type Img, type Progress, UserError } from '../engine/types.js';
import type { PrecisionChoice } from '../engine/model/choices.js';
import { type Flags, maxMinutes, number, type ParsedTask, precisionOption, required, sensitivityOption, solverOptions, taskSpec } from './args.js';
import { loadModel } from './model.js';
import { resolveOldPhoto, type ResolvedOldPhoto } from './old-photo.js';
import { progressBar } from './progress.js';

async function maskFor(f: Flags, spec: TaskSpec, width: number, height: number): Promise<Float64Array | undefined> {
  // An old photo's mask is optional: without one its damage is detected (cli/old-photo.ts).
  if (spec.task === 'old-photo') return f.mask && f.mask !== 'none' ? readMask(f.mask, width, height) : undefined;
  if (spec.task !== 'inpaint') return undefined;
  if (!f.mask) throw new UserError('inpainting needs --mask MASK.png (white = pixels to restore)');
  const observed = await readMask(f.mask, width, height);
  if (countMissing(observed) === 0) throw new UserError(`the mask ${f.mask} is empty: it marks no pixel to restore (white = restore)`);
  return observed;
}

/** preflight() with the --max-minutes limit; a refusal says how to lift it. */
async function preflightWithin(f: Flags, model: Denoiser, job: Parameters<typeof preflight>[1]): Promise<Preflight> {
  const limit = maxMinutes(f);
  try {
    return await preflight(model, { ...job, maxSeconds: 60 * limit });
  } catch (e) {
    if (!(e instanceof JobTooLongError)) throw e;
    const need = Math.ceil((1.5 * e.estimate.seconds) / 60);
    throw new UserError(`${e.message} (--max-minutes ${limit}); pass --max-minutes ${need} to run it anyway, or choose --preset fast or a smaller image`);
  }
}

/** For callers that run the command in-process (tests, bench/large.ts). */
export interface RestoreHooks {
  /** Called with every progress event (after the progress bar). */
  onProgress?: (p: Progress) => void;
  /** Tiling and memory options of the job (engine/job/run.ts); the engine's defaults otherwise. */
  tiling?: TilingOptions;
}

/**
 * --sigma-y auto: the noise level of the photo as given, which is the measurement y (for
 * super-resolution the low-resolution input), by engine/estimate/noise-level.ts.
 */
function estimatedSigmaY(image: Img): number {
  let sigma: number;
  try {
    sigma = estimateNoiseLevel(image).sigma;
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`--sigma-y auto: ${e.message}; give --sigma-y S`);
    throw e;
  }
  if (!(sigma < 1)) throw new UserError(`--sigma-y auto: the estimated noise level ${sigma.toFixed(3)} is outside [0, 1); give --sigma-y S`);
  return sigma;
}

/**
 * --kernel auto: the Gaussian blur the photo as given has been through
 * (engine/estimate/blur-width.ts). A photo that reads sharp is refused rather than run
 * through a deblur that would change nothing but cost the whole solve.
 */
function estimatedKernel(image: Img): { type: 'gaussian'; std: number } {
  let e: ReturnType<typeof estimatedBlurKernel>;
  try {
    e = estimatedBlurKernel(image);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`--kernel auto: ${err.message}; give --kernel gaussian:STD`);
    throw err;
  }
  if (!e.kernel)
    throw new UserError(
      `--kernel auto: the photo looks sharp (estimated blur std ${e.std.toFixed(2)} px, below ${SHARP_STD}): there is nothing to deblur; give --kernel gaussian:STD to deblur anyway`,
    );
  return e.kernel;
}

/** What restore's flags ask for, checked before any file is opened (restore and batch). */
export interface RestorePlan {
  parsed: ParsedTask;
  so: ReturnType<typeof solverOptions>;
  precision: PrecisionChoice;
  /** --strip-gps: the photo's GPS position is not written. */
  keepGps: boolean;
}

export function restorePlan(f: Flags): RestorePlan {
  const parsed = taskSpec(f, 'restore');
  if (parsed.spec.task === 'old-photo') sensitivityOption(f);
  maxMinutes(f);
  return { parsed, so: solverOptions(f), precision: precisionOption(f), keepGps: !f['strip-gps'] };
}

/** A photo to restore, checked before the model runs: the output writable, the header read, the mask read. */
export interface OpenedJob {
  input: string;
  output: string;
  opened: OpenedImage;
  observed?: Float64Array;
  /** The files the output must never replace: the photo, the mask, and for a batch every input. */
  protect: string[];
}

export async function openJob(f: Flags, plan: RestorePlan, input: string, output: string, alsoProtect: readonly string[] = []): Promise<OpenedJob> {
  const protect = [input, ...(f.mask && f.mask !== 'none' ? [f.mask] : []), ...alsoProtect];
  // The output is checked before any work: a bad path is not found after a long restore.
  await checkImageOutput(output, protect);
  const opened = await openImage(input);
  const observed = await maskFor(f, plan.parsed.spec, opened.width, opened.height);
  return { input, output, opened, observed, protect };
}

export type RestoreModel = Awaited<ReturnType<typeof loadModel>>;

export type RestoreSummary = Awaited<ReturnType<typeof restoreJob>>;

/** The model for restore and batch; `note` gets a line when the provider or precision asked for by name could not be had. */
export async function loadRestoreModel(f: Flags, plan: RestorePlan, note: (line: string) => void): Promise<RestoreModel> {
  const { so } = plan;
  const model = await loadModel(f.model, so.provider, plan.precision);
  // A note only for what was asked for by name and not given; what 'auto' tried and passed over
  // goes to the debug log (VMLMAP_DEBUG=1) and --json's providerFallbacks.
  if (so.provider !== 'auto' && model.provider !== so.provider) {
    const why = model.fallbacks.find((fb) => fb.provider === so.provider)?.reason ?? 'unavailable';
    note(`the ${so.provider} execution provider could not start (${why}); running on ${model.provider}`);
  }
  if (model.precisionFallback && plan.precision !== 'auto') note(model.precisionFallback);
  return model;
}

/**
 * Restores an opened photo with a loaded model and writes it, with the photo's metadata; returns
 * restore's --json summary. `note` gets each line worth telling (a long job, each estimate);
 * `label` names the progress bar.
 */
export async function restoreJob(f: Flags, plan: RestorePlan, model: RestoreModel, job: OpenedJob, signal: AbortSignal, note: (line: string) => void, label = 'restoring', hooks: RestoreHooks = {}) {
  const { parsed, so } = plan;
  const { sigmaYAuto } = parsed;
  let spec = parsed.spec;
  let observed = job.observed;
  const { opened } = job;
  // Refused before the photo is decoded when it would run for longer than --max-minutes.
  const { estimate } = await preflightWithin(f, model, { shape: { c: 3, h: opened.height, w: opened.width }, observed, spec, solver: so, tiling: hooks.tiling });
  if (estimate && estimate.seconds > 60) note(`this job will take about ${formatDuration(estimate.seconds)} on ${model.provider}`);
  if (signal.aborted) throw new CancelledError();
  const file = await opened.decode();
  let oldPhoto: ResolvedOldPhoto | undefined;
  if (spec.task === 'old-photo') {
    oldPhoto = resolveOldPhoto(f, parsed, file.image, observed);
    ({ spec, observed } = oldPhoto);
    for (const line of oldPhoto.notes) note(line);
  } else if (sigmaYAuto) {
    spec = { ...spec, sigmaY: estimatedSigmaY(file.image) };
    note(`estimated noise level sigma_y = ${spec.sigmaY.toFixed(3)}`);
  }
  if (parsed.kernelAuto && spec.task === 'deblur') {
    const kernel = estimatedKernel(file.image);
    spec = { ...spec, kernel };
    note(`estimated blur std = ${kernel.std.toFixed(2)} px`);
  }
  const bar = progressBar(label, !f.json && process.stderr.isTTY === true);
  const onProgress = (p: Progress): void => {
    bar(p);
    hooks.onProgress?.(p);
  };
  const { result: res, alpha, bitDepth } = await restorePhoto(model, file, { observed, spec, solver: so, tiling: hooks.tiling }, { signal, onProgress });
  bar.done();
  // The photo's EXIF, XMP and IPTC go with it (GPS unless --strip-gps), Orientation 1.
  await writeImage(job.output, res.image, { alpha, bitDepth, protect: job.protect, metadata: file.metadata, keepGps: plan.keepGps });
  return {
    output: resolve(job.output),
    task: spec.task,
    operator: res.operator,
    sigmaY: spec.sigmaY,
    sigmaYEstimated: sigmaYAuto,
    ...(spec.task === 'deblur' && { kernel: spec.kernel, kernelEstimated: parsed.kernelAuto === true }),
    // An old photo names its blur as deblur does (kernel, absent when there is none), plus its std.
    ...(oldPhoto && {
      kernel: spec.kernel,
      kernelEstimated: oldPhoto.estimate.estimated.kernel,
      blurStd: oldPhoto.estimate.blurStd,
      damaged: oldPhoto.estimate.damaged,
      damageDetected: oldPhoto.estimate.estimated.mask,
      colorize: spec.colorize === true,
    }),
    solver: so.solver,
    preset: so.preset,
    provider: model.provider,
    providerFallbacks: model.fallbacks,
    precision: model.precision,
    precisionReason: model.precisionReason,
    ...(model.precisionFallback ? { precisionFallback: model.precisionFallback } : {}),
    width: res.image.w,
    height: res.image.h,
    ...res.stats,
    estimatedSeconds: estimate?.seconds,
    tiling: res.tiling && { mode: res.tiling.mode, solves: res.tiling.solves, solvedPixels: res.tiling.solvedPixels, tileH: res.tiling.tileH, tileW: res.tiling.tileW },
  };
}

export async function restoreCommand(f: Flags, signal: AbortSignal, hooks: RestoreHooks = {}): Promise<void> {
  const plan = restorePlan(f);
  const job = await openJob(f, plan, required(f, 'input'), required(f, 'output'));
  const note = (line: string): void => {
    if (!f.json) process.stderr.write(`note: ${line}\n`);
  };
  const model = await loadRestoreModel(f, plan, note);
  try {
    const summary = await restoreJob(f, plan, model, job, signal, note, 'restoring', hooks);
    const { so } = plan;
    const stats = summary;
    if (f.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      process.stdout.write(
        `wrote ${job.output} (${summary.width}x${summary.height}): ${so.solver}/${so.preset}, ${stats.nfe} network evaluations, ${stats.vjps} VJPs${stats.approximateVjp ? ' (approximate, finite differences)' : ''}${stats.stationarity !== undefined ? `, stationarity ${stats.stationarity.toExponential(1)}` : ''}${stats.shortenedSteps ? `, ${stats.shortenedSteps} steps shortened` : ''}, ${(stats.wallMs / 1000).toFixed(1)} s on ${model.provider} (${model.precision})\n`,
      );
  } finally {
    await model.release();
  }
}

/** --mask box | scratches (the default): synthetic damage, as observed weights. */
function makeDamage(f: Flags, image: Img, seed: number): Float64Array {
  return f.mask === 'box' ? holeObserved(image.h, image.w) : scratchesObserved(image.h, image.w, seed);
}

export async function degradeCommand(f: Flags): Promise<void> {
  const { spec } = taskSpec(f, 'degrade');
  const seed = solverOptions(f).seed;
  const input = required(f, 'input');
  const output = required(f, 'output');
  // --mask PATH uses a given mask; --mask scratches|box (default scratches) makes one.
  const maskIn = f.mask && f.mask !== 'box' && f.mask !== 'scratches' ? f.mask : undefined;
  const inputs = [input, ...(maskIn ? [maskIn] : [])];
  if (spec.task === 'old-photo' && f.mask) throw new UserError('degrade --task old-photo draws its own damage; leave out --mask (its mask goes to --mask-out)');
  const maskOut = spec.task === 'inpaint' || spec.task === 'old-photo' ? (f['mask-out'] ?? join(resolve(output, '..'), `${basename(output, extname(output))}-mask.png`)) : undefined;
  // Every output is checked before any is written: a bad --mask-out leaves no measurement behind.
  const target = await checkImageOutput(output, inputs);
  if (maskOut) {
    const maskTarget = await checkImageOutput(maskOut, inputs);
    if (maskTarget === target || resolve(maskOut) === resolve(output)) throw new UserError(`--mask-out ${maskOut} is the same file as --output`);
  }
  const file = await readImage(input);
  let observed: Float64Array | undefined;
  if (spec.task === 'inpaint') {
    observed = maskIn ? await readMask(maskIn, file.image.w, file.image.h) : makeDamage(f, file.image, seed);
    if (countMissing(observed) === 0) throw new UserError(`the mask ${maskIn ?? f.mask} is empty: it marks no pixel to degrade (white = damaged)`);
  }
  const d = degrade(file.image, spec, seed, observed);
  observed = d.observed;
  await writeImage(output, d.image, { bitDepth: 16, protect: inputs });
  if (observed && maskOut) await writeImage(maskOut, restoreImageFromObserved(observed, file.image.h, file.image.w), { protect: [...inputs, output] });
  const summary = { output: resolve(output), mask: maskOut ? resolve(maskOut) : undefined, task: spec.task, width: d.image.w, height: d.image.h };
  process.stdout.write(f.json ? `${JSON.stringify(summary)}\n` : `wrote ${output}${maskOut ? ` and ${maskOut}` : ''}\n`);
}

function centreCrop(img: Img, size: number, multiple: number): Img {
  const h = Math.floor(Math.min(size, img.h) / multiple) * multiple;
  const w = Math.floor(Math.min(size, img.w) / multiple) * multiple;
  const y0 = Math.floor((img.h - h) / 2);
  const x0 = Math.floor((img.w - w) / 2);
  const data = new Float64Array(img.c * h * w);
  for (let c = 0; c < img.c; c++) for (let y = 0; y < h; y++) data.set(img.data.subarray(c * img.h * img.w + (y0 + y) * img.w + x0, c * img.h * img.w + (y0 + y) * img.w + x0 + w), c * h * w + y * w);
  return { c: img.c, h, w, data };
}

export interface EvalRow {
  image: string;
  psnr: number;
  ssim: number;
  psnrDegraded?: number;
  seconds: number;
  nfe: number;
  vjps: number;
}

export async function evalCommand(f: Flags, signal: AbortSignal): Promise<void> {
  const { spec } = taskSpec(f, 'eval');
  const so = solverOptions(f);
  const folder = required(f, 'input');
  const crop = number('crop', f.crop, 0, (v) => Number.isInteger(v) && v >= 8, 'must be an integer >= 8');
  const limit = number('limit', f.limit, Infinity, (v) => Number.isInteger(v) && v >= 1, 'must be a positive integer');
  let files: string[];
  try {
    files = readdirSync(folder)
      .filter((n) => /\.(png|jpe?g|webp|tiff?)$/i.test(n))
      .sort();
  } catch (e) {
    throw new UserError(`cannot list ${folder}: ${(e as Error).message}`);
  }
  if (!files.length) throw new UserError(`no images in ${folder}`);
  files = files.slice(0, limit);
  const model = await loadModel(f.model, so.provider, precisionOption(f));
  const multiple = (spec.scale ?? 1) * 8;
  const rows: EvalRow[] = [];
  for (const [i, name] of files.entries()) {
    const full = (await readImage(join(folder, name))).image;
    const clean = crop ? centreCrop(full, crop, multiple) : centreCrop(full, Math.max(full.h, full.w), spec.task === 'sr' ? (spec.scale ?? 2) : 1);
    const seed = so.seed + i;
    const observed = spec.task === 'inpaint' ? makeDamage(f, clean, seed) : undefined;
    const d = degrade(clean, spec, seed, observed);
    await preflightWithin(f, model, { shape: d.image, observed, spec, solver: { ...so, seed } });
    const bar = progressBar(name, !f.json && process.stderr.isTTY === true);
    const res = await restore(model, { image: d.image, observed, spec, solver: { ...so, seed } }, { signal, onProgress: bar });
    bar.done();
    rows.push({
      image: name,
      psnr: psnr(res.image.data, clean.data),
      ssim: ssim(res.image, clean),
      psnrDegraded: d.image.data.length === clean.data.length ? psnr(d.image.data, clean.data) : undefined,
      seconds: res.stats.wallMs / 1000,
      nfe: res.stats.nfe,
      vjps: res.stats.vjps,
    });
  }
  const mean = (k: 'psnr' | 'ssim' | 'seconds' | 'nfe' | 'vjps') => rows.reduce((s, r) => s + r[k], 0) / rows.length;
  const average = { psnr: mean('psnr'), ssim: mean('ssim'), seconds: mean('seconds'), nfe: mean('nfe'), vjps: mean('vjps') };
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ task: spec, solver: so, provider: model.provider, precision: model.precision, rows, average })}\n`);
  } else {
    const line = (c: string[]) => `| ${c.join(' | ')} |\n`;
    let out = line(['image', 'PSNR (dB)', 'SSIM', 'time (s)', 'NFE', 'VJPs']) + line(['---', '---', '---', '---', '---', '---']);
    for (const r of rows) out += line([r.image, r.psnr.toFixed(2), r.ssim.toFixed(4), r.seconds.toFixed(2), String(r.nfe), String(r.vjps)]);
    out += line(['**mean**', average.psnr.toFixed(2), average.ssim.toFixed(4), average.seconds.toFixed(2), average.nfe.toFixed(0), average.vjps.toFixed(0)]);
    process.stdout.write(out);
  }
  await model.release();
}
