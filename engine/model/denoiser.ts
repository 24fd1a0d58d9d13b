/**
 * The denoiser D(z, sigma) and its Jacobian-transpose product, in image space [0, 1], on top of a
 * model folder that follows docs/MODEL_CONTRACT.md. This is the only place that knows about the
 * model's value range, its schedule's time variable and its size multiple.
 */
import * as ort from 'onnxruntime-node';
import type { Shape } from '../types.js';
import { UserError } from '../types.js';
import { type GraphPaths, type GraphSet, graphSet, type ModelFolder, type Precision, readManifest, verifyChecksums } from './manifest.js';
import { crop, pad, padAdjoint, roundUp, zeroPad } from './pad.js';
import { createSession, isGpuProvider, openSession, providerOrder, type ProviderChoice, reasonOf, type SessionResult } from './providers.js';
import { VpSchedule } from './schedule.js';

export interface DenoiserCounters {
  nfe: number;
  vjps: number;
  onnxMs: number;
}

export interface Denoiser {
  readonly channels: number;
  /** Exact VJP graph available; otherwise jtv is the finite-difference approximation. */
  readonly hasVjp: boolean;
  /** Image-space noise range the network was trained on. */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly counters: DenoiserCounters;
  /** Width of the model's value range (image units -> model units), and abar at an image-space sigma. */
  readonly valueScale: number;
  abarAt(sigma: number): number;
  /** Image sides the network accepts are multiples of this (the engine pads); or exactly fixedSize. */
  readonly sizeMultiple: number;
  readonly fixedSize: [number, number] | null;
  /** Checks that an image of this shape can be processed (channels, fixed size). */
  check(s: Shape): void;
  denoise(z: Float64Array, s: Shape, sigma: number): Promise<Float64Array>;
  /** J^T v at (z, sigma), J = dD/dz. */
  jtv(z: Float64Array, s: Shape, sigma: number, v: Float64Array): Promise<Float64Array>;
}

export const PRECISIONS = ['auto', 'fp32', 'fp16'] as const;
export type PrecisionChoice = (typeof PRECISIONS)[number];
export type { Precision } from './manifest.js';

export interface LoadOptions {
  provider?: ProviderChoice;
  /**
   * 'auto' (default): the model's fp16 variant on a GPU provider (webgpu, cuda, dml, coreml) when
   * the manifest has one, else fp32; the CPU always runs fp32. 'fp32' / 'fp16' force a precision
   * on any provider ('fp16' falls back to fp32, with the reason kept, when the model has no fp16
   * variant or its fp16 graphs cannot start on the provider).
   */
  precision?: PrecisionChoice;
  /** Skip the sha256 check (only for models just verified by the caller). */
  trustChecksums?: boolean;
}

/** The precision 'auto' or a forced choice asks for on a provider, and why. */
export function wantedPrecision(choice: PrecisionChoice, provider: string, hasFp16: boolean): { precision: Precision; why: string; fallback?: string } {
  if (choice === 'fp32') return { precision: 'fp32', why: 'fp32 asked for' };
  if (choice === 'fp16')
    return hasFp16 ? { precision: 'fp16', why: 'fp16 asked for' } : { precision: 'fp32', why: 'the model has no fp16 variant', fallback: 'fp16 asked for, but the model has no fp16 variant: running fp32' };
  if (!isGpuProvider(provider)) return { precision: 'fp32', why: `the ${provider} provider always runs fp32` };
  return hasFp16 ? { precision: 'fp16', why: `fp16 variant on the GPU provider ${provider}` } : { precision: 'fp32', why: 'the model has no fp16 variant' };
}

export class OnnxDenoiser implements Denoiser {
  readonly counters: DenoiserCounters = { nfe: 0, vjps: 0, onnxMs: 0 };
  readonly channels: number;
  readonly hasVjp: boolean;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  private readonly schedule: VpSchedule;
  private readonly lo: number;
  private readonly a: number;

  private constructor(
    readonly model: ModelFolder,
    private readonly fwd: SessionResult,
    private readonly vjp: SessionResult | undefined,
    /** Precision of the graphs in use ('fp16': the manifest's fp16 variant). */
    readonly precision: Precision,
    /** Why this precision: one line for people. */
    readonly precisionReason: string,
    /** Set when the precision asked for (or the one 'auto' picks on this provider) could not be used, with the reason. */
    readonly precisionFallback: string | undefined,
  ) {
    const m = model.manifest;
    this.channels = m.channels;
    this.hasVjp = vjp !== undefined;
    this.schedule = new VpSchedule(m.schedule);
    [this.lo] = m.valueRange;
    this.a = m.valueRange[1] - m.valueRange[0];
    this.sigmaMin = this.schedule.sigmaMin / this.a;
    this.sigmaMax = this.schedule.sigmaMax / this.a;
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<OnnxDenoiser> {
    const model = readManifest(dir);
    if (!opts.trustChecksums) await verifyChecksums(model);
    const order = providerOrder(opts.provider ?? 'auto');
    const hasFp16 = graphSet(model, 'fp16') !== undefined;
    const fallbacks: SessionResult['fallbacks'] = [];
    let precisionFallback: string | undefined;
    for (const provider of order) {
      const want = wantedPrecision(opts.precision ?? 'auto', provider, hasFp16);
      if (want.fallback) precisionFallback = want.fallback;
      if (want.precision === 'fp16') {
        // Both fp16 graphs on this provider, or fp32 on it (the reason kept).
        const set = graphSet(model, 'fp16')!.paths;
        let fwd: ort.InferenceSession | undefined;
        try {
          fwd = await openSession(set.forwardPath, provider);
          const vjp = set.vjpPath ? await openSession(set.vjpPath, provider) : undefined;
          const res = (session: ort.InferenceSession): SessionResult => ({ session, provider, fallbacks });
          return new OnnxDenoiser(model, res(fwd), vjp && res(vjp), 'fp16', want.why, precisionFallback);
        } catch (e) {
          await fwd?.release();
          precisionFallback = `the fp16 graphs could not start on ${provider} (${reasonOf(e)}): running fp32`;
        }
      }
      const why = want.precision === 'fp16' ? 'the fp16 graphs could not start' : want.why;
      let fwd: ort.InferenceSession;
      try {
        fwd = await openSession(model.forwardPath, provider);
      } catch (e) {
        fallbacks.push({ provider, reason: reasonOf(e) });
        continue;
      }
      // The VJP graph runs on the provider the forward graph got, so both see the same arithmetic.
      const vjp = model.vjpPath ? await createSession(model.vjpPath, [provider, 'cpu']) : undefined;
      return new OnnxDenoiser(model, { session: fwd, provider, fallbacks }, vjp, 'fp32', why, precisionFallback);
    }
    throw new Error(`no execution provider could load ${model.forwardPath}: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
  }

  /** The graphs in use (this.precision's). */
  get graphs(): { specs: GraphSet; paths: GraphPaths } {
    return graphSet(this.model, this.precision)!;
  }

  get sizeMultiple(): number {
    return this.model.manifest.sizeMultiple;
  }

  get fixedSize(): [number, number] | null {
    return this.model.manifest.fixedSize;
  }

  get valueScale(): number {
    return this.a;
  }

  abarAt(sigma: number): number {
    return this.schedule.abar(this.schedule.tOfSigma(this.a * sigma));
  }

  get provider(): string {
    return this.fwd.provider;
  }

  get fallbacks(): SessionResult['fallbacks'] {
    return this.fwd.fallbacks;
  }

  check(s: Shape): void {
    const m = this.model.manifest;
    if (s.c !== m.channels) throw new UserError(`the model expects ${m.channels}-channel images, got ${s.c}`);
    if (m.fixedSize && (s.h !== m.fixedSize[0] || s.w !== m.fixedSize[1]))
      throw new UserError(`the model only accepts ${m.fixedSize[1]}x${m.fixedSize[0]} images, got ${s.w}x${s.h}`);
  }

  private padded(s: Shape): [number, number] {
    const k = this.model.manifest.sizeMultiple;
    return [roundUp(s.h, k), roundUp(s.w, k)];
  }

  /** Model-space inputs for image-space (z, sigma): x_t = sqrt(abar) (a z + lo), and t. */
  private inputs(z: Float64Array, s: Shape, sigma: number) {
    const sm = this.a * sigma;
    const t = this.schedule.tOfSigma(sm);
    const sq = Math.sqrt(this.schedule.abar(t));
    // The schedule's range clamps t; use the sigma the network actually sees from here on.
    const sEff = this.schedule.sigma(t);
    const [H, W] = this.padded(s);
    const zp = pad(z, s, H, W);
    const x = new Float32Array(zp.length);
    for (let i = 0; i < zp.length; i++) x[i] = sq * (this.a * zp[i] + this.lo);
    return { x, t, sq, sEff, H, W };
  }

  private async run(res: SessionResult, feeds: Record<string, ort.Tensor>, output: string): Promise<Float32Array> {
    const t0 = performance.now();
    const out = await res.session.run(feeds);
    this.counters.onnxMs += performance.now() - t0;
    const data = out[output]?.data;
    if (!(data instanceof Float32Array)) throw new Error(`model output ${output} is missing or not float32`);
    return data;
  }

  async denoise(z: Float64Array, s: Shape, sigma: number): Promise<Float64Array> {
    this.check(s);
    const { x, t, sq, sEff, H, W } = this.inputs(z, s, sigma);
    const g = this.graphs.specs.forward;
    const dims = [1, s.c, H, W];
    const eps = await this.run(this.fwd, { [g.inputs.x]: new ort.Tensor('float32', x, dims), [g.inputs.t]: new ort.Tensor('float32', Float32Array.of(t), [1]) }, g.output);
    this.counters.nfe++;
    // D_m = z_m - s eps, back to image space: (D_m - lo) / a.
    const d = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) d[i] = (x[i] / sq - sEff * eps[i] - this.lo) / this.a;
    return crop(d, s, H, W);
  }

  async jtv(z: Float64Array, s: Shape, sigma: number, v: Float64Array): Promise<Float64Array> {
    if (!this.vjp) return this.jtvFiniteDifference(z, s, sigma, v);
    this.check(s);
    const { x, t, sq, sEff, H, W } = this.inputs(z, s, sigma);
    const g = this.graphs.specs.vjp!;
    const vp = zeroPad(v, s, H, W);
    const dims = [1, s.c, H, W];
    // The VJP is linear in v: the graph gets v / max|v| and the result is scaled back. VML-MAP's
    // v reaches ~1e6, beyond float16's largest number (65504); in float32 this changes rounding only.
    let vmax = 0;
    for (let i = 0; i < vp.length; i++) vmax = Math.max(vmax, Math.abs(vp[i]));
    const scale = vmax > 0 && Number.isFinite(vmax) ? vmax : 1;
    const vs = new Float32Array(vp.length);
    for (let i = 0; i < vp.length; i++) vs[i] = vp[i] / scale;
    const out = await this.run(
      this.vjp,
      {
        [g.inputs.x]: new ort.Tensor('float32', x, dims),
        [g.inputs.t]: new ort.Tensor('float32', Float32Array.of(t), [1]),
        [g.inputs.v]: new ort.Tensor('float32', vs, dims),
      },
      g.output,
    );
    this.counters.vjps++;
    // J_m^T v = v - s sqrt(abar) (d eps/d x)^T v; the value-range scale cancels between z and D.
    const r = new Float64Array(vp.length);
    const k = sEff * sq * scale;
    for (let i = 0; i < vp.length; i++) r[i] = vp[i] - k * out[i];
    return padAdjoint(r, s, H, W);
  }

  /**
   * APPROXIMATE J^T v for forward-only models: an MMSE denoiser's Jacobian is symmetric, so
   * J^T v ~= J v ~= (D(z + h v) - D(z - h v)) / (2 h). Two forward calls; counted as one VJP.
   */
  private async jtvFiniteDifference(z: Float64Array, s: Shape, sigma: number, v: Float64Array): Promise<Float64Array> {
    let nv = 0;
    for (let i = 0; i < v.length; i++) nv += v[i] * v[i];
    nv = Math.sqrt(nv / v.length);
    if (nv === 0) return new Float64Array(v.length);
    // A step of 1% of the noise level per pixel: small against the denoiser's nonlinearity scale
    // (sigma), large against float32 rounding of D.
    const h = (0.01 * sigma) / nv;
    const zp = new Float64Array(z.length);
    const zm = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) {
      zp[i] = z[i] + h * v[i];
      zm[i] = z[i] - h * v[i];
    }
    const dp = await this.denoise(zp, s, sigma);
    const dm = await this.denoise(zm, s, sigma);
    this.counters.vjps++;
    const out = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = (dp[i] - dm[i]) / (2 * h);
    return out;
  }

  async release(): Promise<void> {
    await this.fwd.session.release();
    await this.vjp?.session.release();
  }
}
