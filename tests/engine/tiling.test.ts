/**
 * Tiled restoration (docs/TILING.md): tile geometry and its partition of unity, the position-keyed
 * noise, exactness of the tile operators, no visible seams (a smooth gradient and a photo), the
 * memory preflight, and cancellation in the middle of a tiled job (engine and CLI command).
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { restoreCommand } from '../../cli/commands.js';
import { readImage } from '../../engine/photo/image.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { BicubicDownsample, Blur, BoxDownsample, Identity, kernelFromSpec } from '../../engine/operators/index.js';
import { restore, type RestoreJob } from '../../engine/job/restore.js';
import { Rng } from '../../engine/solvers/common.js';
import { ddnm } from '../../engine/solvers/ddnm.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import { vmlMap, VMLMAP_DEFAULTS } from '../../engine/solvers/vmlmap.js';
import type { TaskSpec } from '../../engine/tasks.js';
import {
  fieldNormals,
  FieldNoise,
  minTileSide,
  modelMemoryCost,
  operatorReach,
  planJob,
  splitAxis,
  tileGrid,
  windowProblem,
} from '../../engine/job/index.js';
import { CancelledError, type Img, type Progress, type Shape, UserError } from '../../engine/types.js';

const MODELS = join(import.meta.dirname, '..', '.models');
const TINY = join(MODELS, 'tiny');

describe('tile geometry', () => {
  it('windows fit the tile, keep the margin around what they keep, and the weights sum to 1 everywhere', () => {
    let checked = 0;
    const bad: string[] = [];
    const check = (ok: boolean, what: string): void => {
      if (!ok && bad.length < 5) bad.push(what);
    };
    for (const align of [1, 2, 3, 4])
      for (const L of [50, 97, 160, 333, 1000])
        for (const T of [64, 100, 256])
          for (const m of [0, 8, 20])
            for (const O of [0, 8, 16]) {
              const margin = Math.ceil(m / align) * align;
              const overlap = Math.ceil(O / (2 * align)) * 2 * align;
              if (T < minTileSide(margin, overlap, align)) continue;
              const LL = Math.floor(L / align) * align;
              const tiles = splitAxis(LL, T, margin, overlap, align);
              const sum = new Float64Array(LL);
              const at = `L ${LL} T ${T} m ${margin} O ${overlap} align ${align}`;
              for (const [i, t] of tiles.entries()) {
                check(t.window.end - t.window.start <= T + align, `${at}: window longer than the tile`);
                check(t.window.start >= 0 && t.window.end <= LL, `${at}: window outside the image`);
                check(t.core.start % align === 0 && t.window.start % align === 0, `${at}: not aligned`);
                check(t.window.start === 0 || t.kept.start - t.window.start === margin, `${at}: no margin before`);
                check(t.window.end === LL || t.window.end - t.kept.end === margin, `${at}: no margin after`);
                check(i === 0 || t.core.start === tiles[i - 1].core.end, `${at}: cores do not partition`);
                for (let p = t.kept.start; p < t.kept.end; p++) {
                  const wgt = t.weights[p - t.kept.start];
                  check(wgt >= 0 && wgt <= 1, `${at}: weight ${wgt}`);
                  sum[p] += wgt;
                }
              }
              for (let p = 0; p < LL; p++) check(Math.abs(sum[p] - 1) < 1e-15, `${at}: weights sum to ${sum[p]} at ${p}`);
              checked++;
            }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });
});

describe('position-keyed noise', () => {
  it('is standard normal, uncorrelated across neighbours, channels, draws and seeds', () => {
    const r = { c: 3, h: 256, w: 256, y0: 0, x0: 0 };
    const a = fieldNormals(7, 0, r);
    const b = fieldNormals(7, 1, r);
    const s = fieldNormals(8, 0, r);
    const n = a.length;
    let mean = 0;
    let m2 = 0;
    let m4 = 0;
    let tails = 0;
    for (const v of a) {
      mean += v / n;
      m2 += (v * v) / n;
      m4 += v ** 4 / n;
      if (Math.abs(v) > 1.959964) tails++;
    }
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(m2 - 1)).toBeLessThan(0.02);
    expect(Math.abs(m4 - 3)).toBeLessThan(0.1);
    expect(Math.abs(tails / n - 0.05)).toBeLessThan(0.003);
    const corr = (f: (i: number) => number | undefined, g: (i: number) => number): number => {
      let sxy = 0;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const x = f(i);
        if (x === undefined) continue;
        sxy += x * g(i);
        k++;
      }
      return sxy / k;
    };
    const hw = r.h * r.w;
    const right = corr((i) => (i % r.w < r.w - 1 ? a[i] : undefined), (i) => a[i + 1]);
    const below = corr((i) => (i % hw < hw - r.w ? a[i] : undefined), (i) => a[i + r.w]);
    const channel = corr((i) => (i < 2 * hw ? a[i] : undefined), (i) => a[i + hw]);
    const draw = corr((i) => a[i], (i) => b[i]);
    const seed = corr((i) => a[i], (i) => s[i]);
    for (const c of [right, below, channel, draw, seed]) expect(Math.abs(c)).toBeLessThan(0.01);
  });

  it("a pixel's noise does not depend on the tile it is drawn in", () => {
    const full = { c: 3, h: 40, w: 50, y0: 0, x0: 0 };
    const whole = [fieldNormals(3, 0, full), fieldNormals(3, 1, full)];
    const tile = new FieldNoise(3, { c: 3, h: 11, w: 17, y0: 23, x0: 29 });
    for (const d of [0, 1]) {
      const got = tile.normals(3 * 11 * 17);
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < 11; i++) for (let j = 0; j < 17; j++) expect(got[(c * 11 + i) * 17 + j]).toBe(whole[d][(c * 40 + 23 + i) * 50 + 29 + j]);
    }
  });

  it('solvers without a noise source draw exactly what they drew before (one Rng(seed) stream)', async () => {
    const model = await OnnxDenoiser.load(join(MODELS, 'gaussian'), { provider: 'cpu' });
    const shape = { c: 3, h: 8, w: 8 };
    const op = new BoxDownsample(shape, 2);
    const y = op.forward(new Rng(5).normals(192).map((v) => 0.5 + 0.2 * v));
    const base = { op, y, sigmaY: 0.05, model, seed: 11 };
    const st = { ...VMLMAP_DEFAULTS, levels: 6, inner: 2, detail: 1 };
    const a = await vmlMap(base, st);
    const b = await vmlMap({ ...base, noise: new Rng(11) }, st);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    const dn = { steps: 6, eta: 0.85, sigmaStart: 80 };
    expect(Array.from((await ddnm({ ...base, noise: new Rng(11) }, dn)).x)).toEqual(Array.from((await ddnm(base, dn)).x));
    await model.release();
  });
});

/** The job whose measurement of `x` is A x: the photo for denoise/deblur/sr is A x itself. */
function jobFor(spec: TaskSpec, x: Img, restoreMask?: Float64Array): RestoreJob {
  let image: Img = x;
  if (spec.task === 'deblur') image = { ...x, data: new Blur(x, kernelFromSpec(spec.kernel!)).forward(x.data) };
  if (spec.task === 'sr') {
    const op = spec.srKernel === 'box' ? new BoxDownsample(x, spec.scale!) : new BicubicDownsample(x, spec.scale!);
    image = { ...op.outShape, data: op.forward(x.data) };
  }
  return { image, mask: restoreMask, spec, solver: { solver: 'vml-map', preset: 'fast', seed: 0 } };
}

describe('tile operators', () => {
  it('reproduce A x exactly on every measurement the tile keeps, for every task', () => {
    const clean: Shape = { c: 3, h: 72, w: 96 };
    const rng = new Rng(9);
    const x: Img = { ...clean, data: rng.normals(3 * 72 * 96).map((v) => 0.5 + 0.2 * v) };
    const restoreMask = new Float64Array(72 * 96).map(() => (rng.uniform() < 0.3 ? 1 : 0));
    const specs: TaskSpec[] = [
      { task: 'denoise', sigmaY: 0 },
      { task: 'deblur', sigmaY: 0, kernel: { type: 'gaussian', std: 1.5 } },
      { task: 'deblur', sigmaY: 0, kernel: { type: 'motion', length: 7, angle: 30 } },
      { task: 'sr', sigmaY: 0, scale: 2, srKernel: 'box' },
      { task: 'sr', sigmaY: 0, scale: 3, srKernel: 'bicubic' },
      { task: 'sr', sigmaY: 0, scale: 4, srKernel: 'bicubic' },
      { task: 'colorize', sigmaY: 0 },
      { task: 'inpaint', sigmaY: 0 },
    ];
    for (const spec of specs) {
      const job = jobFor(spec, x, spec.task === 'inpaint' ? restoreMask : undefined);
      const { support, align } = operatorReach(spec);
      const margin = Math.ceil((support + 4) / align) * align;
      const overlap = 2 * align * 2;
      const T = minTileSide(margin, overlap, align) + 4 * align;
      const tiles = tileGrid(72, 96, T, T, margin, overlap, align);
      expect(tiles.length).toBeGreaterThan(1);
      let worstKept = 0;
      let worstEdge = 0;
      for (const t of tiles) {
        const rect = { y0: t.rows.window.start, y1: t.rows.window.end, x0: t.cols.window.start, x1: t.cols.window.end };
        const { op, y } = windowProblem(job, clean, rect, align);
        const xs = new Float64Array(3 * (rect.y1 - rect.y0) * (rect.x1 - rect.x0));
        const w = rect.x1 - rect.x0;
        const h = rect.y1 - rect.y0;
        for (let c = 0; c < 3; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) xs[(c * h + i) * w + j] = x.data[(c * 72 + rect.y0 + i) * 96 + rect.x0 + j];
        const ax = op.forward(xs);
        const o = op.outShape;
        // Measurement pixel (i, j) sits on restored rows [i s, (i + 1) s); it is in the kept area
        // when those rows and columns are.
        for (let c = 0; c < o.c; c++)
          for (let i = 0; i < o.h; i++)
            for (let j = 0; j < o.w; j++) {
              const gy = rect.y0 + i * align;
              const gx = rect.x0 + j * align;
              const d = Math.abs(ax[(c * o.h + i) * o.w + j] - y[(c * o.h + i) * o.w + j]);
              const kept = gy >= t.rows.kept.start && gy + align <= t.rows.kept.end && gx >= t.cols.kept.start && gx + align <= t.cols.kept.end;
              if (kept) worstKept = Math.max(worstKept, d);
              else worstEdge = Math.max(worstEdge, d);
            }
      }
      expect(worstKept, `${JSON.stringify(spec)}`).toBeLessThan(1e-12);
      // Operators that couple neighbours really do differ at the window edges: the margin matters.
      if (support > 0) expect(worstEdge, `${JSON.stringify(spec)}`).toBeGreaterThan(1e-6);
    }
  });
});

/** Mean |x(j + 1) - x(j)| over rows and channels for each column j (or over columns for each row). */
function profile(img: Img, axis: 'cols' | 'rows'): Float64Array {
  const { c, h, w, data } = img;
  const n = axis === 'cols' ? w - 1 : h - 1;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let ch = 0; ch < c; ch++)
      if (axis === 'cols') for (let y = 0; y < h; y++) s += Math.abs(data[(ch * h + y) * w + k + 1] - data[(ch * h + y) * w + k]);
      else for (let x = 0; x < w; x++) s += Math.abs(data[(ch * h + k + 1) * w + x] - data[(ch * h + k) * w + x]);
    out[k] = s / (c * (axis === 'cols' ? h : w));
  }
  return out;
}

interface SeamReport {
  /** Largest step across a tile border: between neighbours in a cross-fade band or up to 4 px from it. */
  border: number;
  /** Largest step between neighbours inside tiles, away from borders and the image edge. */
  inside: number;
}

/** Border steps against inside steps, along columns and rows, for a tiled result. */
function seams(img: Img, tileH: number, tileW: number, margin: number, overlap: number): SeamReport {
  let border = 0;
  let inside = 0;
  for (const axis of ['cols', 'rows'] as const) {
    const L = axis === 'cols' ? img.w : img.h;
    const tiles = tileGrid(img.h, img.w, tileH, tileW, margin, overlap)
      .map((t) => (axis === 'cols' ? t.cols : t.rows))
      .filter((t, i, all) => all.findIndex((u) => u.core.start === t.core.start) === i);
    const prof = profile(img, axis);
    const near = new Uint8Array(L);
    // The cross-fade band of each cut, and 4 pixels either side of it (a tile's own edge effects).
    for (const t of tiles)
      if (t.core.start > 0) for (let p = t.core.start - overlap / 2 - 5; p <= t.core.start + overlap / 2 + 4; p++) if (p >= 0 && p < L) near[p] = 1;
    for (let k = 0; k < prof.length; k++) {
      if (near[k]) border = Math.max(border, prof[k]);
      else if (k >= 8 && k < prof.length - 8) inside = Math.max(inside, prof[k]);
    }
  }
  return { border, inside };
}

async function tinyModel(): Promise<OnnxDenoiser> {
  return OnnxDenoiser.load(TINY, { provider: 'cpu' });
}

function rmsDiff(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

describe('no visible seams', () => {
  const solver = { solver: 'vml-map' as const, preset: 'fast' as const, steps: 5, seed: 3 };

  it('on a smooth gradient: steps across tile borders are no larger than inside tiles (and naive tiling fails that)', async () => {
    const model = await tinyModel();
    const h = 200;
    const w = 320;
    const data = new Float64Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = 0.2 + 0.6 * (0.7 * (x / w) + 0.3 * (y / h)) * (0.6 + 0.2 * c);
    const job: RestoreJob = { image: { c: 3, h, w, data }, spec: { task: 'denoise', sigmaY: 0.05 }, solver };
    const tiled = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 160 * 160 } });
    const t = tiled.tiling!;
    expect(t.mode).toBe('tiles');
    expect(t.solves).toBeGreaterThanOrEqual(6);
    const s = seams(tiled.image, t.tileH!, t.tileW!, t.margin!, t.overlap!);
    console.log(`gradient: ${t.solves} tiles of ${t.tileH}x${t.tileW}, largest step across borders ${s.border.toExponential(3)}, inside ${s.inside.toExponential(3)}`);
    // On a gradient every step is the slope; "no larger" up to 1% of it (1e-5 of the range).
    expect(s.border).toBeLessThanOrEqual(1.01 * s.inside);
    // The same job as one tile (same position-keyed noise): the tiles change it by far less than a
    // grey level.
    const one = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 1e6 } });
    expect(one.tiling!.solves).toBe(1);
    const rms = rmsDiff(tiled.image.data, one.image.data);
    console.log(`gradient: RMS difference tiled vs one tile ${rms.toExponential(3)}`);
    expect(rms).toBeLessThan(1e-4);
    // Control: tiles without margin or cross-fade leave a seam this measure sees.
    const naive = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 160 * 160, context: 0, overlap: 0 } });
    const n = seams(naive.image, naive.tiling!.tileH!, naive.tiling!.tileW!, 0, 0);
    console.log(`gradient, naive tiles: across borders ${n.border.toExponential(3)}, inside ${n.inside.toExponential(3)}`);
    expect(n.border).toBeGreaterThan(n.inside);
    await model.release();
  });

  it('on a photo: steps across tile borders are no larger than inside tiles', async (ctx) => {
    const candidates = [
      '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg', // Debian python-matplotlib-data (.ci/run installs it)
      join(import.meta.dirname, '..', '..', 'data', 'dev', 'opencv-doc__usr__share__doc__opencv-doc__examples__data__baboon.jpg'),
    ];
    const path = candidates.find((p) => existsSync(p));
    if (!path) {
      console.warn(`SKIPPED: no photo found at ${candidates.join(' or ')} (install python-matplotlib-data)`);
      ctx.skip('no photo available');
    }
    const photo = (await readImage(path!)).image;
    const h = 192;
    const w = 256;
    const y0 = Math.floor((photo.h - h) / 2);
    const x0 = Math.floor((photo.w - w) / 2);
    const data = new Float64Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = photo.data[(c * photo.h + y0 + y) * photo.w + x0 + x];
    const model = await tinyModel();
    const job: RestoreJob = { image: { c: 3, h, w, data }, spec: { task: 'denoise', sigmaY: 0.03 }, solver };
    const tiled = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 160 * 160 } });
    const t = tiled.tiling!;
    expect(t.solves).toBeGreaterThanOrEqual(4);
    const s = seams(tiled.image, t.tileH!, t.tileW!, t.margin!, t.overlap!);
    const one = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 1e6 } });
    const so = seams(one.image, t.tileH!, t.tileW!, t.margin!, t.overlap!);
    const rms = rmsDiff(tiled.image.data, one.image.data);
    console.log(
      `photo ${path}: ${t.solves} tiles, across borders ${s.border.toExponential(3)} (one tile: ${so.border.toExponential(3)}), inside ${s.inside.toExponential(3)}; RMS tiled vs one tile ${rms.toExponential(3)}`,
    );
    expect(s.border).toBeLessThanOrEqual(s.inside);
    // A quarter of an 8-bit grey level.
    expect(rms).toBeLessThan(1e-3);
    await model.release();
  });
});

describe('tiled jobs of the other tasks', () => {
  it('super-resolution and colourisation in tiles agree with the same job as one tile', async () => {
    const model = await tinyModel();
    const photo = (h: number, w: number): Img => {
      const data = new Float64Array(3 * h * w);
      for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = 0.5 + 0.3 * Math.sin(x / 7 + c) * Math.cos(y / 11);
      return { c: 3, h, w, data };
    };
    const solver = { solver: 'vml-map' as const, preset: 'fast' as const, steps: 3, seed: 1 };
    // Not here: bicubic super-resolution (conjugate-gradient solves, slow at these sizes) and
    // deblurring (with the tiny random network its solve diverges to values of +-80, tiled or not,
    // so the two differ chaotically). Their tile operators are checked exactly above.
    const jobs: [TaskSpec, Img][] = [
      [{ task: 'sr', scale: 2, srKernel: 'box', sigmaY: 0.02 }, photo(96, 128)],
      [{ task: 'colorize', sigmaY: 0.02 }, photo(160, 224)],
    ];
    for (const [spec, image] of jobs) {
      const job: RestoreJob = { image, spec, solver };
      const tiled = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 1 } });
      const one = await restore(model, { ...job, tiling: { mode: 'tiles', maxTilePixels: 1e6 } });
      const t = tiled.tiling!;
      const rms = rmsDiff(tiled.image.data, one.image.data);
      console.log(`${spec.task}: ${t.solves} tiles of ${t.tileH}x${t.tileW} (margin ${t.margin}), RMS difference from one tile ${rms.toExponential(2)}`);
      expect(t.solves).toBeGreaterThan(1);
      expect(one.tiling!.solves).toBe(1);
      expect([tiled.image.h, tiled.image.w]).toEqual([one.image.h, one.image.w]);
      expect(rms).toBeLessThan(1e-3);
    }
    await model.release();
  });
});

describe('small images', () => {
  it('are solved whole, exactly as the solver alone solves them (same noise, same result)', async () => {
    const model = await tinyModel();
    const h = 48;
    const w = 64;
    const rng = new Rng(12);
    const data = rng.normals(3 * h * w).map((v) => 0.5 + 0.1 * v);
    const solver = { solver: 'vml-map' as const, preset: 'fast' as const, steps: 3, seed: 4 };
    const res = await restore(model, { image: { c: 3, h, w, data }, spec: { task: 'denoise', sigmaY: 0.05 }, solver });
    expect(res.tiling!.mode).toBe('whole');
    const direct = await solve({ op: new Identity({ c: 3, h, w }), y: data, sigmaY: 0.05, model, seed: 4 }, settingsFor('vml-map', 'fast', 'denoise', { steps: 3 }));
    expect(Array.from(res.image.data)).toEqual(Array.from(direct.x));
    await model.release();
  });
});

describe('memory preflight', () => {
  const image = (h: number, w: number): Img => ({ c: 3, h, w, data: new Float64Array(3 * h * w).fill(0.5) });
  const solver = { solver: 'vml-map' as const, preset: 'fast' as const, steps: 2, seed: 0 };

  it("measures the model's cost per pixel", async () => {
    const model = await tinyModel();
    const fwd = await modelMemoryCost(model, false);
    const both = await modelMemoryCost(model, true);
    console.log(`tiny model: ${fwd.how}; with VJP: ${both.how}`);
    expect(fwd.bytesPerPixel).toBeGreaterThan(0);
    expect(fwd.bytesPerPixel).toBeLessThan(1e5);
    expect(both.bytesPerPixel).toBeGreaterThanOrEqual(fwd.bytesPerPixel);
    await model.release();
  });

  it('picks the tile from the budget, and refuses with a clear message when not even the smallest tile fits', async () => {
    const model = await tinyModel();
    const clean = { c: 3, h: 600, w: 800 };
    const job: RestoreJob = { image: image(600, 800), spec: { task: 'denoise', sigmaY: 0.05 }, solver };
    const settings = settingsFor('vml-map', 'fast', 'denoise');
    const rss = process.memoryUsage.rss();
    const sides: number[] = [];
    for (const extra of [200, 400, 1600]) {
      const plan = await planJob(model, { ...job, tiling: { memoryBudget: rss + extra * 2 ** 20, maxTilePixels: 4096 ** 2 } }, clean, settings, 2, false);
      const m = plan.report.memory;
      sides.push(plan.report.mode === 'whole' ? Infinity : Math.max(plan.report.tileH!, plan.report.tileW!));
      if (plan.report.mode === 'tiles') expect(plan.report.tileH! * plan.report.tileW!).toBeLessThanOrEqual(m.maxSolvePixels);
    }
    expect(sides[0]).toBeLessThan(sides[1]);
    expect(sides[1]).toBeLessThanOrEqual(sides[2]);
    // The result needs 600 x 800 x 40 B = 18 MB; about 22 MB more leave no room for the smallest tile.
    const tooSmall = { ...job, tiling: { memoryBudget: process.memoryUsage.rss() + 40 * 2 ** 20 } };
    await expect(restore(model, tooSmall)).rejects.toThrow(UserError);
    await expect(restore(model, tooSmall)).rejects.toThrow(/^not enough memory for this job: the smallest tile \(160x160\) needs about \d+ MB on top of the 18 MB for the result, but only \d+ MB of the \d+ MB budget are left/);
    const noRoom = { ...job, tiling: { memoryBudget: process.memoryUsage.rss() } };
    await expect(restore(model, noRoom)).rejects.toThrow(/^not enough memory for this job: the result alone needs 18 MB, more than the \d+ MB budget leaves/);
    await model.release();
  });
});

describe('cancel in the middle of a tiled job', () => {
  it('stops after the first tile with CancelledError', async () => {
    const model = await tinyModel();
    const controller = new AbortController();
    const events: Progress[] = [];
    const job: RestoreJob = {
      image: { c: 3, h: 240, w: 320, data: new Float64Array(3 * 240 * 320).fill(0.4) },
      spec: { task: 'denoise', sigmaY: 0.05 },
      solver: { solver: 'vml-map', preset: 'fast', steps: 3, seed: 0 },
      tiling: { mode: 'tiles', maxTilePixels: 160 * 160 },
    };
    const run = restore(model, job, {
      signal: controller.signal,
      onProgress: (p) => {
        events.push(p);
        if (p.step === 3) controller.abort(); // the first tile's last level
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events[0].total).toBeGreaterThan(3 * 4);
    await model.release();
  });

  it('the restore command leaves no output file (nor a temporary one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmlmap-tiling-cancel-'));
    const input = join(dir, 'photo.png');
    const px = Buffer.alloc(240 * 320 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 251;
    await sharp(px, { raw: { width: 320, height: 240, channels: 3 } }).png().toFile(input);
    const output = join(dir, 'restored.png');
    const controller = new AbortController();
    let tiles = 0;
    const flags = { task: 'denoise', input, output, model: TINY, provider: 'cpu', preset: 'fast', steps: '2', 'sigma-y': '0.05', json: true };
    const run = restoreCommand(flags, controller.signal, {
      tiling: { mode: 'tiles', maxTilePixels: 160 * 160 },
      onProgress: (p) => {
        if (p.step % 2 === 0 && ++tiles === 2) controller.abort(); // after the second tile
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(dir)).toEqual(['photo.png']);
  });
});
