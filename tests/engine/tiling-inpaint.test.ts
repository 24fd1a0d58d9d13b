/**
 * Inpainting by region (engine/job/regions.ts): connected regions and hole depths against brute
 * force, the windows' coverage and cross-fade, cost in proportion to the scratches, and the
 * restored image equal to the input, bit for bit, at every pixel outside the mask.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchesObserved } from '../../engine/photo/masks.js';
import { observedFromRestoreFlags, restoreFlagsFromObserved } from '../../engine/photo/user-mask.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { restore, type RestoreJob } from '../../engine/job/restore.js';
import { Rng } from '../../engine/solvers/common.js';
import { holeDistance, maskRuns, planRegions } from '../../engine/job/index.js';

const TINY = join(import.meta.dirname, '..', '.models', 'tiny');

/** Synthetic scratches as a person's mask (1 = to restore), which these tests draw on. */
const scratchMask = (h: number, w: number, seed: number, coverage: number): Float64Array => Float64Array.from(restoreFlagsFromObserved(scratchesObserved(h, w, seed, coverage)));

/** 8-connected labels by flood fill (-1 = observed). */
function floodLabels(h: number, w: number, m: Uint8Array): Int32Array {
  const lab = new Int32Array(h * w).fill(-1);
  let next = 0;
  for (let p = 0; p < h * w; p++) {
    if (!m[p] || lab[p] >= 0) continue;
    const stack = [p];
    lab[p] = next;
    while (stack.length) {
      const q = stack.pop()!;
      const y = Math.floor(q / w);
      const x = q % w;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const r = yy * w + xx;
          if (m[r] && lab[r] < 0) {
            lab[r] = next;
            stack.push(r);
          }
        }
    }
    next++;
  }
  return lab;
}

function randomMask(h: number, w: number, seed: number, density: number): Uint8Array {
  const rng = new Rng(seed);
  const m = new Uint8Array(h * w);
  // Random blobs and lines on sparse noise.
  for (let p = 0; p < h * w; p++) m[p] = rng.uniform() < density ? 1 : 0;
  for (let k = 0; k < 4; k++) {
    const cy = Math.floor(rng.uniform() * h);
    const cx = Math.floor(rng.uniform() * w);
    const r = 1 + Math.floor(rng.uniform() * 6);
    for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) if (y >= 0 && y < h && x >= 0 && x < w && (y - cy) ** 2 + (x - cx) ** 2 <= r * r) m[y * w + x] = 1;
  }
  return m;
}

describe('regions of a mask', () => {
  it('connected components and hole depths agree with brute force', () => {
    for (const [h, w, seed, density] of [
      [23, 31, 1, 0.3],
      [40, 17, 2, 0.5],
      [64, 64, 3, 0.05],
    ] as const) {
      const m = randomMask(h, w, seed, density);
      const runs = maskRuns(h, w, (p) => m[p] === 1);
      const lab = floodLabels(h, w, m);
      const fromRuns = new Int32Array(h * w).fill(-1);
      for (let r = 0; r < runs.count; r++) for (let x = runs.x0[r]; x < runs.x1[r]; x++) fromRuns[runs.y[r] * w + x] = runs.comp[r];
      // Same partition: a bijection between labels.
      const map = new Map<number, number>();
      for (let p = 0; p < h * w; p++) {
        expect(fromRuns[p] >= 0).toBe(lab[p] >= 0);
        if (lab[p] < 0) continue;
        if (!map.has(lab[p])) map.set(lab[p], fromRuns[p]);
        expect(fromRuns[p]).toBe(map.get(lab[p]));
      }
      expect(new Set(map.values()).size).toBe(map.size);
      expect(runs.components).toBe(map.size);
      const d = holeDistance(h, w, runs);
      for (let p = 0; p < h * w; p++) {
        if (!m[p]) {
          expect(d[p]).toBe(0);
          continue;
        }
        let best = 65535;
        for (let q = 0; q < h * w; q++) if (!m[q]) best = Math.min(best, Math.max(Math.abs(Math.floor(q / w) - Math.floor(p / w)), Math.abs((q % w) - (p % w))));
        expect(d[p]).toBe(best);
      }
    }
  });

  it('every masked pixel is solved with its context, and cross-faded cells sum to 1', () => {
    const h = 300;
    const w = 400;
    const restoreMask = scratchMask(h, w, 5, 0.02);
    // A blot as well.
    for (let y = 100; y < 130; y++) for (let x = 200; x < 235; x++) restoreMask[y * w + x] = 1;
    const context = 12;
    // A small window budget, so that the long scratches go to cells.
    const plan = planRegions(h, w, (p) => restoreMask[p] > 0.5, { context, cell: 32, overlap: 8, maxPixels: 96 * 96 });
    const weight = new Float64Array(h * w);
    const single = new Uint8Array(h * w);
    const ok = (win: { y0: number; y1: number; x0: number; x1: number }, y: number, x: number): boolean =>
      (y - win.y0 >= context || win.y0 === 0) && (win.y1 - 1 - y >= context || win.y1 === h) && (x - win.x0 >= context || win.x0 === 0) && (win.x1 - 1 - x >= context || win.x1 === w);
    const { runs } = plan;
    for (const win of plan.windows) {
      if (win.kind === 'single') {
        const comps = new Set(win.components);
        for (let r = 0; r < runs.count; r++)
          if (comps.has(runs.comp[r]))
            for (let x = runs.x0[r]; x < runs.x1[r]; x++) {
              expect(ok(win.window, runs.y[r], x)).toBe(true);
              single[runs.y[r] * w + x]++;
            }
      } else {
        for (let r = 0; r < runs.count; r++) {
          const y = runs.y[r];
          if (plan.single[runs.comp[r]] || y < win.rows.kept.start || y >= win.rows.kept.end) continue;
          for (let x = Math.max(runs.x0[r], win.cols.kept.start); x < Math.min(runs.x1[r], win.cols.kept.end); x++) {
            expect(ok(win.window, y, x)).toBe(true);
            weight[y * w + x] += win.rows.weights[y - win.rows.kept.start] * win.cols.weights[x - win.cols.kept.start];
          }
        }
      }
    }
    let masked = 0;
    for (let p = 0; p < h * w; p++) {
      if (!(restoreMask[p] > 0.5)) continue;
      masked++;
      if (single[p]) {
        expect(single[p]).toBe(1);
        expect(weight[p]).toBe(0);
      } else expect(Math.abs(weight[p] - 1)).toBeLessThan(1e-12);
    }
    expect(plan.maskedPixels).toBe(masked);
    expect(plan.windows.some((w) => w.kind === 'single')).toBe(true);
    expect(plan.windows.some((w) => w.kind === 'cell')).toBe(true);
  });

  it('costs in proportion to the scratches, not to the photo', () => {
    const opts = { context: 12, cell: 64, overlap: 4, maxPixels: 768 * 768 };
    const h = 1500;
    const w = 2000;
    const solved: number[] = [];
    for (const coverage of [0.0025, 0.005, 0.01]) {
      const m = scratchMask(h, w, 17, coverage);
      const plan = planRegions(h, w, (p) => m[p] > 0.5, opts);
      solved.push(plan.solvedPixels);
      console.log(
        `${w}x${h}, ${(100 * coverage).toFixed(2)}% scratched: ${plan.windows.length} windows, ${(plan.solvedPixels / 1e6).toFixed(2)} MP solved (${((100 * plan.solvedPixels) / (h * w)).toFixed(0)}% of the photo)`,
      );
    }
    // Twice the scratches, about twice the work (not the whole photo each time).
    expect(solved[1] / solved[0]).toBeGreaterThan(1.5);
    expect(solved[1] / solved[0]).toBeLessThan(2.8);
    expect(solved[2] / solved[1]).toBeGreaterThan(1.4);
    expect(solved[0]).toBeLessThan(0.3 * h * w);
    // The same scratches on a photo four times as large cost the same.
    const big = new Float64Array(4 * h * w);
    const m = scratchMask(h, w, 17, 0.0025);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) big[y * 2 * w + x] = m[y * w + x];
    const planBig = planRegions(2 * h, 2 * w, (p) => big[p] > 0.5, opts);
    expect(Math.abs(planBig.solvedPixels / solved[0] - 1)).toBeLessThan(0.05);
  });
});

describe('inpainting by region', () => {
  it('copies every pixel outside the mask bit for bit and fills the masked ones', async () => {
    const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const h = 160;
    const w = 224;
    const rng = new Rng(4);
    const data = new Float64Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = 0.5 + 0.3 * Math.sin(x / 9 + c) * Math.cos(y / 13) + 0.01 * rng.normal();
    const mask = scratchMask(h, w, 8, 0.02);
    for (let y = 60; y < 80; y++) for (let x = 100; x < 130; x++) mask[y * w + x] = 1;
    // Masked pixels are black in the measurement, as `vmlmap degrade` writes them.
    const image = Float64Array.from(data);
    for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) if (mask[p] > 0.5) image[c * h * w + p] = 0;
    const job: RestoreJob = {
      image: { c: 3, h, w, data: image },
      observed: observedFromRestoreFlags(mask),
      spec: { task: 'inpaint', sigmaY: 0 },
      solver: { solver: 'vml-map', preset: 'fast', steps: 3, seed: 2 },
    };
    const res = await restore(model, { ...job, tiling: { mode: 'tiles' } });
    const t = res.tiling!;
    console.log(`inpainting ${w}x${h}: ${t.mode}, ${t.regions} regions, ${t.solves} windows, ${t.solvedPixels} of ${h * w} pixels solved, ${t.maskedPixels} masked`);
    expect(t.mode).toBe('regions');
    expect(t.solvedPixels).toBeLessThan(h * w);
    let changed = 0;
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < h * w; p++) {
        const i = c * h * w + p;
        if (mask[p] > 0.5) {
          expect(Number.isFinite(res.image.data[i])).toBe(true);
          if (res.image.data[i] !== 0) changed++;
        } else if (!Object.is(res.image.data[i], image[i])) throw new Error(`pixel ${p} of channel ${c} outside the mask changed`);
      }
    expect(changed).toBe(3 * t.maskedPixels!);
    expect(res.operator).toMatch(/^mask \(\d+\.\d% observed\)$/);
    await model.release();
  });

  it("previews the result so far: the running window's estimate, and the photo (never black) where nothing is solved yet", async () => {
    const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const h = 96;
    const w = 224;
    const data = new Float64Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = 0.5 + 0.3 * Math.sin(x / 9 + c) * Math.cos(y / 13);
    // A long stroke (solved in cross-faded cells) and a blemish (one window): the photo keeps its pixels under them, as in the app.
    const mask = new Float64Array(h * w);
    for (let x = 8; x < 216; x++) for (let d = 0; d < 3; d++) mask[(8 + Math.floor((x - 8) * 0.35) + d) * w + x] = 1;
    for (let y = 70; y < 76; y++) for (let x = 100; x < 108; x++) mask[y * w + x] = 1;
    const job: RestoreJob = {
      image: { c: 3, h, w, data },
      observed: observedFromRestoreFlags(mask),
      spec: { task: 'inpaint', sigmaY: 0 },
      solver: { solver: 'vml-fp', preset: 'fast', steps: 3, seed: 1 },
      previewEvery: 1,
      tiling: { mode: 'tiles' },
    };
    const seen: { step: number; total: number; preview?: Float64Array }[] = [];
    const res = await restore(model, job, { stepProgress: true, onProgress: (p) => seen.push({ step: p.step, total: p.total, preview: p.preview?.data }) });
    const t = res.tiling!;
    expect(t.mode).toBe('regions');
    expect(t.solves).toBeGreaterThan(2);
    const perSolve = seen[0]!.total / t.solves;
    expect(perSolve).toBe(3 * 3); // 3 levels x (2 steps + the closing denoise), per window
    expect(seen.map((p) => p.step)).toEqual(Array.from({ length: seen[0]!.total }, (_, i) => i + 1));
    const previews = seen.filter((p) => p.preview);
    expect(previews.length).toBeGreaterThan(2);
    // Previews come while the first window is solved, not only when it is pasted.
    expect(previews[0]!.step).toBeLessThan(perSolve);
    // Under the strokes, what no window has given yet is the photo's own pixels (the result starts
    // the stroke's cross-faded cells at zero: shown as such they were black holes).
    const first = previews[0]!.preview!;
    let masked = 0;
    let asPhoto = 0;
    let black = 0;
    for (let q = 0; q < h * w; q++) {
      if (!mask[q]) continue;
      masked++;
      if ([0, 1, 2].every((c) => Math.abs(first[c * h * w + q] - data[c * h * w + q]) < 1e-9)) asPhoto++;
      if ([0, 1, 2].every((c) => first[c * h * w + q] === 0)) black++;
    }
    expect(black).toBe(0);
    expect(asPhoto).toBeGreaterThan(masked / 2);
    // Previews change nothing in the result.
    const plain = await restore(model, { ...job, previewEvery: 0 }, { stepProgress: true });
    expect(plain.image.data).toEqual(res.image.data);
    await model.release();
  });

  it('solves a feathered edge (soft observed weights) by region, and copies only the fully observed pixels', async () => {
    const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const h = 96;
    const w = 128;
    const rng = new Rng(5);
    const data = new Float64Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) data[c * h * w + p] = 0.5 + 0.2 * Math.sin(p / 7 + c) + 0.05 * rng.normal();
    // A hole, wholly missing, and round it a ring 3 px wide of weight 0.6 (as the page's feather gives).
    const observed = new Float64Array(h * w).fill(1);
    for (let y = 37; y < 59; y++) for (let x = 47; x < 81; x++) observed[y * w + x] = y >= 40 && y < 56 && x >= 50 && x < 78 ? 0 : 0.6;
    const res = await restore(model, {
      image: { c: 3, h, w, data },
      observed,
      spec: { task: 'inpaint', sigmaY: 0.05 },
      solver: { solver: 'vml-fp', preset: 'fast', steps: 3, seed: 3 },
      tiling: { mode: 'tiles' },
    });
    expect(res.tiling!.mode).toBe('regions');
    expect(res.tiling!.maskedPixels).toBe(22 * 34);
    let ringChanged = 0;
    for (let p = 0; p < h * w; p++) {
      const same = [0, 1, 2].every((c) => Object.is(res.image.data[c * h * w + p], data[c * h * w + p]));
      if (observed[p] === 1) expect(same, `pixel ${p}`).toBe(true);
      else if (observed[p] === 0.6 && !same) ringChanged++;
    }
    // The solve gives the soft pixels their value (weighing the photo by 0.6), rather than leaving them as they were.
    expect(ringChanged).toBe(22 * 34 - 16 * 28);
    await model.release();
  });

  it('is what restore() picks by itself for a few blemishes', async () => {
    const model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    const h = 256;
    const w = 256;
    const mask = new Float64Array(h * w);
    for (const [cy, cx] of [
      [40, 50],
      [200, 180],
    ])
      for (let y = cy - 3; y <= cy + 3; y++) for (let x = cx - 4; x <= cx + 4; x++) mask[y * w + x] = 1;
    const image = new Float64Array(3 * h * w).fill(0.25);
    const res = await restore(model, {
      image: { c: 3, h, w, data: image },
      observed: observedFromRestoreFlags(mask),
      spec: { task: 'inpaint', sigmaY: 0 },
      solver: { solver: 'vml-map', preset: 'fast', steps: 2, seed: 0 },
    });
    expect(res.tiling!.mode).toBe('regions');
    expect(res.tiling!.solves).toBe(2);
    expect(res.tiling!.solvedPixels).toBe(2 * (7 + 24) * (9 + 24));
    await model.release();
  });
});
