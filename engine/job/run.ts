/**
 * Large images and inpainting by region (docs/TILING.md). restore() asks planJob() how to run a job:
 *  - 'whole': one solve over the image, exactly as before tiling existed (same noise, same result);
 *  - 'tiles': overlapping tiles, each solved on its window with the task's operator and the
 *    position-keyed noise of noise.ts, cross-faded into the result (plan.ts);
 *  - 'regions' (inpainting): windows around the mask's connected regions only (regions.ts); every
 *    fully observed pixel is copied from the input bit for bit (a soft weight, a feathered edge, is
 *    part of a region: the solve gives it its value, as a whole-image solve does).
 * The tile size follows from the memory preflight (memory.ts).
 */
import type { Denoiser } from '../model/denoiser.js';
import { clamp01 } from '../solvers/common.js';
import { solve, type SolverSettings } from '../solvers/index.js';
import { CancelledError, type Img, type Progress, type Shape, type SolveStats, UserError } from '../types.js';
import { ENGINE_BYTES_PER_PIXEL, mb, memoryBudget, MODEL_COST_SAFETY, modelMemoryCost, WRITE_BYTES_PER_PIXEL } from '../model/memory.js';
import { FieldNoise } from './noise.js';
import { minTileSide, operatorReach, roundUpTo, type Tile, tileGrid } from './tiles.js';
import { needsSolve } from '../photo/user-mask.js';
import { finite, windowProblem } from './problem.js';
import { planRegions, type Rect } from './regions.js';
import type { JobPlan, RestoreJob, RestoreResult, RunOptions } from './types.js';

export const TILING_DEFAULTS = {
  maxTilePixels: 768 * 768,
  maxWholePixels: 2 ** 21,
  context: 32,
  overlap: 32,
  inpaintContext: 12,
  inpaintCell: 64,
  inpaintOverlap: 4,
};

const solverUsesVjp = (s: SolverSettings): boolean => s.solver === 'dps' || (s.solver === 'vml-map' && s.settings.stepRule === 'gradient');

const lcm = (a: number, b: number): number => {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a * b) / gcd(a, b);
};

/** Decides how to run a job; throws a UserError when not even the smallest tile fits in memory. */
export async function planJob(
  model: Denoiser,
  job: Pick<RestoreJob, 'spec' | 'observed' | 'tiling'>,
  clean: Shape,
  settings: SolverSettings,
  sizeMultiple: number,
  fixedSize: boolean,
): Promise<JobPlan> {
  const opts = { ...TILING_DEFAULTS, ...job.tiling };
  const mode = job.tiling?.mode ?? 'auto';
  const pixels = clean.h * clean.w;
  const mem = memoryBudget(job.tiling?.memoryBudget);
  const memory = { budget: mem.budget, rss: mem.rss, available: mem.available, maxSolvePixels: Infinity, modelBytesPerPixel: 0, how: 'not measured' };
  const whole: JobPlan = { report: { mode: 'whole', solves: 1, solvedPixels: pixels, memory } };
  if (fixedSize || mode === 'whole') return whole;
  const cost = await modelMemoryCost(model, solverUsesVjp(settings));
  const perPixel = cost.bytesPerPixel * MODEL_COST_SAFETY + ENGINE_BYTES_PER_PIXEL;
  const outBytes = 8 * clean.c * pixels + WRITE_BYTES_PER_PIXEL * pixels;
  const free = mem.budget - mem.rss - outBytes;
  const maxSolvePixels = Math.max(0, Math.floor(free / perPixel));
  Object.assign(memory, { maxSolvePixels, modelBytesPerPixel: cost.bytesPerPixel, how: cost.how });
  if (mode === 'auto' && pixels <= Math.min(maxSolvePixels, opts.maxWholePixels)) {
    if (!(job.spec.task === 'inpaint' && job.tiling?.regions !== false)) return whole;
  }
  const reach = operatorReach(job.spec);
  const align = reach.align;
  const refuse = (need: number, what: string): never => {
    const context = `${mb(mem.rss)} in use, ${mb(mem.available)} available`;
    throw new UserError(
      free <= 0
        ? `not enough memory for this job: the result alone needs ${mb(outBytes)}, more than the ${mb(mem.budget)} budget leaves (${context}); ` + `close other programs or restore a smaller image`
        : `not enough memory for this job: ${what} needs about ${mb(need)} on top of the ${mb(outBytes)} for the result, ` +
            `but only ${mb(free)} of the ${mb(mem.budget)} budget are left (${context}); close other programs or restore a smaller image`,
    );
  };
  if (job.spec.task === 'inpaint' && job.tiling?.regions !== false) {
    const observed = job.observed!;
    const minWin = (2 * opts.inpaintContext + 8) ** 2;
    if (maxSolvePixels < minWin) refuse(minWin * perPixel, `the smallest inpainting window (${2 * opts.inpaintContext + 8} px square)`);
    const cap = Math.min(maxSolvePixels, Math.max(minWin, opts.maxTilePixels));
    const regionPlan = planRegions(clean.h, clean.w, (p) => needsSolve(observed[p]!), { context: opts.inpaintContext, cell: opts.inpaintCell, overlap: opts.inpaintOverlap, maxPixels: cap });
    const beneficial = regionPlan.solvedPixels <= 0.5 * pixels || pixels > Math.min(maxSolvePixels, opts.maxWholePixels);
    if (mode === 'tiles' || beneficial) {
      return {
        regions: regionPlan,
        report: { mode: 'regions', solves: regionPlan.windows.length, solvedPixels: regionPlan.solvedPixels, maskedPixels: regionPlan.maskedPixels, regions: regionPlan.runs.components, memory },
      };
    }
    if (mode === 'auto' && pixels <= Math.min(maxSolvePixels, opts.maxWholePixels)) return whole;
  }
  const margin = roundUpTo(reach.support + opts.context, align);
  const overlap = roundUpTo(opts.overlap, 2 * align);
  const minSide = minTileSide(margin, overlap, align);
  if (maxSolvePixels < minSide * minSide) refuse(minSide * minSide * perPixel, `the smallest tile (${minSide}x${minSide})`);
  const cap = Math.min(maxSolvePixels, Math.max(minSide * minSide, opts.maxTilePixels));
  const step = lcm(align, Math.max(1, sizeMultiple));
  let side = Math.max(minSide, Math.floor(Math.sqrt(cap) / step) * step);
  let tileH = Math.min(clean.h, side);
  let tileW = Math.min(clean.w, side);
  // A strip narrower than the square tile lends its unused pixels to the other axis.
  if (tileH < side) tileW = Math.min(clean.w, Math.max(minSide, Math.floor(cap / tileH / step) * step));
  else if (tileW < side) tileH = Math.min(clean.h, Math.max(minSide, Math.floor(cap / tileW / step) * step));
  side = Math.max(tileH, tileW);
  const tiles = tileGrid(clean.h, clean.w, tileH, tileW, margin, overlap, align);
  const solvedPixels = tiles.reduce((s, t) => s + (t.rows.window.end - t.rows.window.start) * (t.cols.window.end - t.cols.window.start), 0);
  return { tiles, report: { mode: 'tiles', solves: tiles.length, solvedPixels, tileH, tileW, margin, overlap, memory } };
}

function addStats(a: SolveStats, b: SolveStats): void {
  a.nfe += b.nfe;
  a.vjps += b.vjps;
  a.onnxMs += b.onnxMs;
  a.approximateVjp ||= b.approximateVjp;
  if (b.shortenedSteps !== undefined) a.shortenedSteps = (a.shortenedSteps ?? 0) + b.shortenedSteps;
  // A tiled job is as far from stationary as its least stationary tile.
  if (b.stationarity !== undefined) a.stationarity = Math.max(a.stationarity ?? 0, b.stationarity);
}

/**
 * The result so far, as a preview: what the finished windows pasted, the running window's current
 * estimate, and where nothing is solved yet the photo itself (nearest pixel for super-resolution),
 * never the zeros the result starts from. `weight` is how much of each pixel the pasted windows have
 * given (1 = done): unsolved pixels are blended with the photo by what is missing.
 */
class PreviewCanvas {
  constructor(
    private readonly clean: Shape,
    private readonly out: Float64Array,
    readonly weight: Float32Array,
    private readonly photo: Img,
    private readonly scale: number,
  ) {}

  image(current?: { paste: Paste; x: Float64Array }): Img {
    const { clean, photo, scale } = this;
    const hw = clean.h * clean.w;
    const data = Float64Array.from(this.out);
    const weight = Float32Array.from(this.weight);
    if (current) current.paste(current.x, data, weight);
    const phw = photo.h * photo.w;
    for (let y = 0; y < clean.h; y++) {
      const py = Math.min(photo.h - 1, Math.floor(y / scale));
      for (let x = 0; x < clean.w; x++) {
        const p = y * clean.w + x;
        const missing = 1 - weight[p];
        if (missing <= 1e-6) continue;
        const q = py * photo.w + Math.min(photo.w - 1, Math.floor(x / scale));
        for (let c = 0; c < clean.c; c++) data[c * hw + p] += missing * photo.data[c * phw + q];
      }
    }
    return { ...clean, data: clamp01(data) };
  }
}

/** Writes a window's solution into a result (and what it gave each pixel into `weight`, when kept). */
type Paste = (x: Float64Array, into: Float64Array, weight?: Float32Array) => void;

/**
 * Global progress over all solves. Previews (images up to 4 MP) show the result so far with the
 * running window's estimate in it, every `previewEvery` of its steps (PreviewCanvas). A preview
 * copies the whole image while a step may solve a small window: one is made only when at least
 * four times its own making time has passed since the last, so previews cost at most a fifth.
 */
class JobProgress {
  private readonly t0 = performance.now();
  private previewAt = -Infinity;
  private previewMs = 0;
  constructor(
    private readonly opts: RunOptions,
    private readonly solves: number,
    private readonly canvas: PreviewCanvas | undefined,
  ) {}

  forSolve(index: number, paste: Paste): (p: Progress) => void {
    return (p) => {
      const cb = this.opts.onProgress;
      if (!cb) return;
      const total = p.total * this.solves;
      const step = index * p.total + p.step;
      const elapsedMs = performance.now() - this.t0;
      let img: Img | undefined;
      const now = performance.now();
      if (p.preview && this.canvas && now - this.previewAt >= 4 * this.previewMs) {
        img = this.canvas.image({ paste, x: p.preview.data });
        this.previewAt = performance.now();
        this.previewMs = this.previewAt - now;
      }
      cb({ step, total, elapsedMs, etaMs: step > 0 ? (elapsedMs / step) * (total - step) : 0, preview: img });
    };
  }
}

/** Runs a job planned as 'tiles' or 'regions'. */
export async function runPlanned(model: Denoiser, job: RestoreJob, clean: Shape, settings: SolverSettings, plan: JobPlan, opts: RunOptions, operatorName: string): Promise<RestoreResult> {
  const t0 = performance.now();
  const stats: SolveStats = { nfe: 0, vjps: 0, onnxMs: 0, wallMs: 0, approximateVjp: false };
  const scale = job.spec.task === 'sr' ? job.spec.scale! : 1;
  const check = (): void => {
    if (opts.signal?.aborted) throw new CancelledError();
  };
  const hw = clean.h * clean.w;
  const previewEvery = Math.max(0, Math.round(job.previewEvery ?? 0));
  const previews = previewEvery > 0 && clean.c * hw <= 3 * 4e6;
  let out: Float64Array;
  // How much of each pixel the pasted windows have given (1 = done); kept only for previews.
  let weight: Float32Array | undefined;
  const windows: { rect: Rect; paste: Paste }[] = [];
  if (plan.tiles) {
    out = new Float64Array(clean.c * hw);
    if (previews) weight = new Float32Array(hw);
    for (const t of plan.tiles) {
      const rect = { y0: t.rows.window.start, y1: t.rows.window.end, x0: t.cols.window.start, x1: t.cols.window.end };
      windows.push({ rect, paste: (x, into, w) => blend(into, clean, x, rect, t.rows, t.cols, w) });
    }
  } else {
    const regionPlan = plan.regions!;
    // The input, bit for bit; only masked pixels change below.
    out = Float64Array.from(job.image.data);
    if (previews) weight = new Float32Array(hw).fill(1);
    const { runs } = regionPlan;
    // Cell-mode masked pixels are sums of cross-faded cells: start them at zero.
    for (let r = 0; r < runs.count; r++) {
      if (regionPlan.single[runs.comp[r]]) continue;
      const row = runs.y[r] * clean.w;
      for (let c = 0; c < clean.c; c++) out.fill(0, c * hw + row + runs.x0[r], c * hw + row + runs.x1[r]);
      weight?.fill(0, row + runs.x0[r], row + runs.x1[r]);
    }
    for (const win of regionPlan.windows) {
      const rect = win.window;
      if (win.kind === 'single') {
        const comps = new Set(win.components);
        windows.push({
          rect,
          paste: (x, into) => {
            const w = rect.x1 - rect.x0;
            const h = rect.y1 - rect.y0;
            for (let y = rect.y0; y < rect.y1; y++)
              for (let r = runs.rowStart[y]; r < runs.rowStart[y + 1]; r++) {
                if (!comps.has(runs.comp[r])) continue;
                for (let c = 0; c < clean.c; c++) for (let j = runs.x0[r]; j < runs.x1[r]; j++) into[c * hw + y * clean.w + j] = x[(c * h + y - rect.y0) * w + j - rect.x0];
              }
          },
        });
      } else {
        windows.push({
          rect,
          paste: (x, into, weights) => {
            const w = rect.x1 - rect.x0;
            const h = rect.y1 - rect.y0;
            const { rows, cols } = win;
            for (let y = rows.kept.start; y < rows.kept.end; y++) {
              const wy = rows.weights[y - rows.kept.start];
              for (let r = runs.rowStart[y]; r < runs.rowStart[y + 1]; r++) {
                if (regionPlan.single[runs.comp[r]]) continue;
                const a = Math.max(runs.x0[r], cols.kept.start);
                const b = Math.min(runs.x1[r], cols.kept.end);
                for (let j = a; j < b; j++) {
                  const wyx = wy * cols.weights[j - cols.kept.start];
                  for (let c = 0; c < clean.c; c++) into[c * hw + y * clean.w + j] += wyx * x[(c * h + y - rect.y0) * w + j - rect.x0];
                  if (weights) weights[y * clean.w + j] += wyx;
                }
              }
            }
          },
        });
      }
    }
  }
  const canvas = weight ? new PreviewCanvas(clean, out, weight, job.image, scale) : undefined;
  const progress = new JobProgress(opts, windows.length, canvas);
  for (const [index, win] of windows.entries()) {
    check();
    const { rect } = win;
    const { op, y } = windowProblem(job, clean, rect, scale);
    const region = { c: clean.c, h: rect.y1 - rect.y0, w: rect.x1 - rect.x0, y0: rect.y0, x0: rect.x0 };
    const res = await solve(
      {
        op,
        y,
        sigmaY: job.spec.sigmaY,
        model,
        seed: job.solver.seed,
        signal: opts.signal,
        onProgress: progress.forSolve(index, win.paste),
        previewEvery: canvas ? previewEvery : 0,
        stepProgress: opts.stepProgress,
        noise: new FieldNoise(job.solver.seed, region),
      },
      settings,
    );
    finite(res.x);
    win.paste(res.x, out, weight);
    addStats(stats, res.stats);
  }
  stats.wallMs = performance.now() - t0;
  return { image: { ...clean, data: out }, stats, operator: operatorName, tiling: plan.report };
}

/** out += (weights) * x over the tile's kept area; what each pixel was given is added to `weight` when kept. */
function blend(out: Float64Array, s: Shape, x: Float64Array, rect: Rect, rows: Tile['rows'], cols: Tile['cols'], weight?: Float32Array): void {
  const w = rect.x1 - rect.x0;
  const h = rect.y1 - rect.y0;
  const hw = s.h * s.w;
  for (let c = 0; c < s.c; c++)
    for (let y = rows.kept.start; y < rows.kept.end; y++) {
      const wy = rows.weights[y - rows.kept.start];
      const dst = c * hw + y * s.w;
      const src = (c * h + y - rect.y0) * w - rect.x0;
      for (let j = cols.kept.start; j < cols.kept.end; j++) out[dst + j] += wy * cols.weights[j - cols.kept.start] * x[src + j];
    }
  if (weight)
    for (let y = rows.kept.start; y < rows.kept.end; y++) {
      const wy = rows.weights[y - rows.kept.start];
      for (let j = cols.kept.start; j < cols.kept.end; j++) weight[y * s.w + j] += wy * cols.weights[j - cols.kept.start];
    }
}
