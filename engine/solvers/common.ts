/**
 * What every solver shares: its inputs, its result, noise-level schedules, seeded noise, progress
 * and cancellation between network calls.
 */
import type { Denoiser } from '../model/denoiser-interface.js';
import { CancelledError, type Img, type LinearOperator, type Progress, type Shape, type SolveStats } from '../types.js';

export interface SolveInput {
  op: LinearOperator;
  y: Float64Array;
  /** Measurement noise std in image units; 0 means exact measurements. */
  sigmaY: number;
  model: Denoiser;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Attach the current estimate to progress every this many steps (0 = never). */
  previewEvery?: number;
  /**
   * Count progress in network steps rather than noise levels: VML-MAP then reports after each of
   * its mode-seeking steps and each level's closing denoise (levels x (inner + 1) steps), which a
   * progress bar needs when there are few levels. The baselines take one network step per level
   * either way.
   */
  stepProgress?: boolean;
  /**
   * Where the solver's random draws come from. Default: one Rng(seed) stream, exactly what every
   * solver drew before this field existed. Tiled jobs pass engine/job/noise.ts's FieldNoise,
   * whose draws are functions of (seed, draw index, global pixel position).
   */
  noise?: NoiseSource;
}

/** A solver's random draws: each call returns the next draw, n standard normals. */
export interface NoiseSource {
  normals(n: number): Float64Array;
}

/** The input's noise source, or the default sequential stream Rng(seed). */
export function noiseFor(input: SolveInput): NoiseSource {
  return input.noise ?? new Rng(input.seed);
}

export interface SolveResult {
  x: Float64Array;
  stats: SolveStats;
}

/** mulberry32 + Box-Muller: a small seeded generator, identical on every platform. */
export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }
}

/** z at the highest noise level: grey plus noise (the prior's mean is unknown to the solver). */
export function startFromNoise(n: number, sigma: number, rng: NoiseSource): Float64Array {
  const z = rng.normals(n);
  for (let i = 0; i < n; i++) z[i] = 0.5 + sigma * z[i];
  return z;
}

/**
 * Where a solve starts: 'estimate' = the operator's estimate of x from y, its own noise topped up
 * with fresh noise to the first level (z ~ x + sigma n); 'grey' = noise around mid-grey. Returns z
 * and the first level, which is never below the noise the estimate already carries.
 */
export function startPoint(input: SolveInput, sigma: number, from: 'estimate' | 'grey', rng: NoiseSource): { z: Float64Array; sigma: number } {
  const shape = input.op.inShape;
  const n = shape.c * shape.h * shape.w;
  if (from === 'grey') return { z: startFromNoise(n, sigma, rng), sigma };
  const est = input.op.estimate(input.y, input.sigmaY);
  const hi = Math.min(Math.max(sigma, est.noise), input.model.sigmaMax);
  return { z: axpby(1, est.x, Math.sqrt(Math.max(0, hi * hi - est.noise * est.noise)), rng.normals(n)), sigma: hi };
}

/** N noise levels from hi down to lo, geometrically spaced (hi first). */
export function geometricSigmas(hi: number, lo: number, n: number): number[] {
  if (n === 1) return [lo];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(hi * Math.pow(lo / hi, i / (n - 1)));
  return out;
}

/** Tracks steps, time and the denoiser's counters for progress and the final statistics. */
export class Run {
  private readonly t0 = performance.now();
  private readonly base: { nfe: number; vjps: number; onnxMs: number };

  constructor(
    private readonly input: SolveInput,
    readonly total: number,
    readonly shape: Shape,
  ) {
    const c = input.model.counters;
    this.base = { ...c };
  }

  /** Throws CancelledError if the job was cancelled; call between network calls. */
  checkCancel(): void {
    if (this.input.signal?.aborted) throw new CancelledError();
  }

  progress(step: number, estimate?: Float64Array): void {
    this.checkCancel();
    const cb = this.input.onProgress;
    if (!cb) return;
    const elapsedMs = performance.now() - this.t0;
    const every = this.input.previewEvery ?? 0;
    const withPreview = estimate && every > 0 && (step % every === 0 || step === this.total);
    cb({
      step,
      total: this.total,
      elapsedMs,
      etaMs: step > 0 ? (elapsedMs / step) * (this.total - step) : 0,
      preview: withPreview ? ({ ...this.shape, data: clamp01(estimate) } as Img) : undefined,
    });
  }

  stats(): SolveStats {
    const c = this.input.model.counters;
    return {
      nfe: c.nfe - this.base.nfe,
      vjps: c.vjps - this.base.vjps,
      onnxMs: c.onnxMs - this.base.onnxMs,
      wallMs: performance.now() - this.t0,
      approximateVjp: false,
    };
  }
}

export function clamp01(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] < 0 ? 0 : x[i] > 1 ? 1 : x[i];
  return out;
}

export function assertFinite(x: Float64Array, what: string): void {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new Error(`${what} contains NaN or Inf`);
}

/** a*x + b*y, elementwise, into a new array. */
export function axpby(a: number, x: Float64Array, b: number, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i] + b * y[i];
  return out;
}

export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Exact data consistency for noiseless measurements: x + A^+ (y - A x). */
export function project(op: LinearOperator, x: Float64Array, y: Float64Array): Float64Array {
  const ax = op.forward(x);
  const res = axpby(1, y, -1, ax);
  return axpby(1, x, 1, op.pinv(res));
}
