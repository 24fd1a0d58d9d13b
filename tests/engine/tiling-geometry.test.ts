/**
 * Tiling's geometry (docs/TILING.md): tiles and their partition of unity, the position-keyed
 * noise, and the exactness of each tile's operator and measurement.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { BicubicDownsample, Blur, BoxDownsample, kernelFromSpec } from '../../engine/operators/index.js';
import { type RestoreJob } from '../../engine/job/restore.js';
import { Rng } from '../../engine/solvers/common.js';
import { ddnm } from '../../engine/solvers/ddnm.js';
import { vmlMap, VMLMAP_DEFAULTS } from '../../engine/solvers/vmlmap.js';
import { observedFromRestoreFlags } from '../../engine/photo/user-mask.js';
import type { TaskSpec } from '../../engine/tasks.js';
import { fieldNormals, FieldNoise, minTileSide, operatorReach, splitAxis, tileGrid, windowProblem } from '../../engine/job/index.js';
import { type Img, type Shape } from '../../engine/types.js';

const MODELS = join(import.meta.dirname, '..', '.models');

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
    const right = corr(
      (i) => (i % r.w < r.w - 1 ? a[i] : undefined),
      (i) => a[i + 1],
    );
    const below = corr(
      (i) => (i % hw < hw - r.w ? a[i] : undefined),
      (i) => a[i + r.w],
    );
    const channel = corr(
      (i) => (i < 2 * hw ? a[i] : undefined),
      (i) => a[i + hw],
    );
    const draw = corr(
      (i) => a[i],
      (i) => b[i],
    );
    const seed = corr(
      (i) => a[i],
      (i) => s[i],
    );
    for (const c of [right, below, channel, draw, seed]) expect(Math.abs(c)).toBeLessThan(0.01);
  });

  it("a pixel's noise does not depend on the tile it is drawn in", () => {
    const full = { c: 3, h: 40, w: 50, y0: 0, x0: 0 };
    const whole = [fieldNormals(3, 0, full), fieldNormals(3, 1, full)];
    const tile = new FieldNoise(3, { c: 3, h: 11, w: 17, y0: 23, x0: 29 });
    for (const d of [0, 1]) {
      const got = tile.normals(3 * 11 * 17);
      for (let c = 0; c < 3; c++) for (let i = 0; i < 11; i++) for (let j = 0; j < 17; j++) expect(got[(c * 11 + i) * 17 + j]).toBe(whole[d][(c * 40 + 23 + i) * 50 + 29 + j]);
    }
  });

  it('a solve without a noise source is a function of its seed: the same seed repeats it, another changes it', async () => {
    const model = await OnnxDenoiser.load(join(MODELS, 'gaussian'), { provider: 'cpu' });
    const shape = { c: 3, h: 8, w: 8 };
    const op = new BoxDownsample(shape, 2);
    const y = op.forward(new Rng(5).normals(192).map((v) => 0.5 + 0.2 * v));
    const st = { ...VMLMAP_DEFAULTS, levels: 6, inner: 2, detail: 1 };
    const dn = { steps: 6, eta: 0.85, sigmaStart: 80 };
    for (const run of [(seed: number) => vmlMap({ op, y, sigmaY: 0.05, model, seed }, st), (seed: number) => ddnm({ op, y, sigmaY: 0.05, model, seed }, dn)]) {
      const [a, b, c] = [await run(11), await run(11), await run(12)];
      expect(Array.from(b.x)).toEqual(Array.from(a.x));
      expect(Array.from(c.x)).not.toEqual(Array.from(a.x));
    }
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
  return { image, observed: restoreMask && observedFromRestoreFlags(restoreMask), spec, solver: { solver: 'vml-map', preset: 'fast', seed: 0 } };
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
