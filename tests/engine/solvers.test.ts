/**
 * Every solver behind the one interface, on a real (tiny, random) conv net through onnxruntime:
 * network-evaluation accounting, progress, cancellation between network calls, reproducibility.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { operatorFor } from '../../engine/operators/index.js';
import { Rng } from '../../engine/solvers/common.js';
import { settingsFor, solve } from '../../engine/solvers/index.js';
import { GRADIENT_HALVINGS } from '../../engine/solvers/vmlmap.js';
import { SOLVERS } from '../../engine/tasks.js';
import { CancelledError, type Progress } from '../../engine/types.js';

const TINY = join(import.meta.dirname, '..', '.models', 'tiny');
const shape = { c: 3, h: 16, w: 16 };

let model: OnnxDenoiser;
beforeAll(async () => {
  model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
});
afterAll(() => model?.release());

function problem() {
  const rng = new Rng(1);
  const op = operatorFor({ task: 'sr', scale: 2, srKernel: 'box', sigmaY: 0.02 }, shape);
  const clean = rng.normals(3 * 16 * 16).map((v) => 0.5 + 0.2 * v);
  return { op, y: op.forward(clean), sigmaY: 0.02 };
}

/**
 * vml-map's safeguard shortens steps that lengthen the residual, at one forward each; on this random
 * net half the fast preset's step is never shortened, so its calls are exactly levels x (inner + 1).
 */
const UNSHORTENED = { stepScale: 0.5 };

describe('solvers', () => {
  for (const name of SOLVERS) {
    it(`${name}: finite result, counted network calls, progress every step, reproducible`, async () => {
      const p = problem();
      const s = settingsFor(name, 'fast', 'sr', { steps: 4, vml: name === 'vml-map' ? UNSHORTENED : undefined });
      const seen: Progress[] = [];
      const a = await solve({ ...p, model, seed: 3, onProgress: (q) => seen.push(q), previewEvery: 2 }, s);
      expect(a.x.every(Number.isFinite)).toBe(true);
      expect(seen.map((q) => q.step)).toEqual([1, 2, 3, 4]);
      expect(seen.every((q) => q.total === 4 && q.elapsedMs >= 0 && q.etaMs >= 0)).toBe(true);
      expect(seen.filter((q) => q.preview).map((q) => q.step)).toEqual([2, 4]);
      const expected =
        s.solver === 'vml-map' || s.solver === 'vml-fp'
          ? { nfe: 4 * (s.settings.inner + 1), vjps: s.settings.stepRule === 'gradient' ? 4 * s.settings.inner : 0 }
          : { nfe: 4, vjps: s.solver === 'dps' ? 4 : 0 };
      expect({ nfe: a.stats.nfe, vjps: a.stats.vjps }).toEqual(expected);
      expect(a.stats.shortenedSteps).toBe(s.solver === 'vml-map' ? 0 : undefined);
      expect(a.stats.onnxMs).toBeGreaterThan(0);
      expect(a.stats.onnxMs).toBeLessThanOrEqual(a.stats.wallMs);
      const b = await solve({ ...p, model, seed: 3 }, s);
      expect(b.x).toEqual(a.x);
    });
  }

  it('vml-fp and vml-map report progress per network step when asked (stepProgress), the same result', async () => {
    for (const name of ['vml-fp', 'vml-map'] as const) {
      const p = problem();
      const s = settingsFor(name, 'fast', 'sr', { steps: 3, vml: { inner: 2, ...(name === 'vml-map' ? UNSHORTENED : {}) } });
      const seen: Progress[] = [];
      const a = await solve({ ...p, model, seed: 3, onProgress: (q) => seen.push(q), previewEvery: 2, stepProgress: true }, s);
      expect(seen.map((q) => q.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(seen.every((q) => q.total === 9)).toBe(true);
      expect(seen.filter((q) => q.preview).map((q) => q.step)).toEqual([2, 4, 6, 8, 9]);
      const b = await solve({ ...p, model, seed: 3 }, s);
      expect(b.x).toEqual(a.x);
    }
  });

  it('vml-map (the gradient rule) uses one VJP per inner step, vml-fp none', async () => {
    const p = problem();
    expect(settingsFor('vml-fp', 'balanced', 'sr').settings).toMatchObject({ stepRule: 'fixed-point' });
    const s = settingsFor('vml-map', 'fast', 'sr', { steps: 3, vml: { inner: 2, ...UNSHORTENED } });
    expect(s.settings).toMatchObject({ stepRule: 'gradient' });
    const r = await solve({ ...p, model, seed: 0 }, s);
    expect(r.stats.vjps).toBe(6);
    expect(r.stats.nfe).toBe(9);
    expect(r.stats.approximateVjp).toBe(false);
  });

  it('vml-map counts its safeguard: each shortened trial is one forward; a level whose step cannot be shortened enough ends early', async () => {
    // On this random net the full step lengthens the residual (measured: 12 trials shortened over 4 levels x 2).
    const p = problem();
    const levels = 4;
    const s = settingsFor('vml-map', 'fast', 'sr', { steps: levels, vml: { inner: 2, stepScale: 1 } });
    const seen: Progress[] = [];
    const r = await solve({ ...p, model, seed: 3, onProgress: (q) => seen.push(q), stepProgress: true }, s);
    const shortened = r.stats.shortenedSteps!;
    expect(shortened).toBeGreaterThan(0);
    // Forwards: one per level where it starts, one per trial (accepted steps and shortened ones); every
    // step attempted ran one VJP, and a stalled one (its 1 + GRADIENT_HALVINGS trials all rejected) is
    // not accepted. So the stalls follow from the counts, and each cost that many shortened trials.
    const stalls = levels + r.stats.vjps + shortened - r.stats.nfe;
    expect(stalls).toBeGreaterThan(0);
    expect(stalls).toBeLessThanOrEqual(levels);
    expect(shortened).toBeGreaterThanOrEqual(stalls * (GRADIENT_HALVINGS + 1));
    expect(r.stats.vjps).toBeLessThan(levels * 2);
    // Progress still rises to the end, skipping the steps a stalled level did not take.
    const steps = seen.map((q) => q.step);
    expect(steps.every((v, i) => i === 0 || v > steps[i - 1]!)).toBe(true);
    expect(steps.at(-1)).toBe(levels * 3);
    expect(r.x.every(Number.isFinite)).toBe(true);
  });

  it('cancels between network calls', async () => {
    const p = problem();
    const ctl = new AbortController();
    let steps = 0;
    const run = solve(
      {
        ...p,
        model,
        seed: 0,
        signal: ctl.signal,
        onProgress: () => {
          steps++;
          ctl.abort();
        },
      },
      settingsFor('vml-map', 'fast', 'sr', { steps: 10 }),
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(steps).toBe(1);
  });
  it('vml-fp runs the network once where it stands still: denoising from y at sigma_y is D(y, sigma_y) in one call', async () => {
    // z = y is stationary at s = sigma_y (docs/ALGORITHM.md): every step is zero and every later call would repeat the first.
    const sigmaY = 0.05;
    const op = operatorFor({ task: 'denoise', sigmaY }, shape);
    const y = new Rng(2).normals(3 * 16 * 16).map((v) => 0.5 + 0.2 * v);
    const s = settingsFor('vml-fp', 'balanced', 'denoise', { vml: { sigmaStart: 0.01, sigmaEndPerSigmaY: 1, levels: 5, inner: 2 } });
    const a = await solve({ op, y, sigmaY, model, seed: 1 }, s);
    expect(a.stats.nfe).toBe(1);
    expect(a.x).toEqual(await model.denoise(y, shape, sigmaY));
    expect(a.stats.stationarity).toBe(0);
    // Elsewhere every call runs: from above sigma_y the solve moves at every step.
    const b = await solve({ op, y, sigmaY, model, seed: 1 }, settingsFor('vml-fp', 'balanced', 'denoise', { vml: { sigmaStart: 0.2, sigmaEndPerSigmaY: 1, levels: 5, inner: 2 } }));
    expect(b.stats.nfe).toBe(15);
  });
});
