/**
 * The denoiser D(z, sigma) and its Jacobian-transpose product, in image space [0, 1], on top of a
 * model folder that follows docs/MODEL_CONTRACT.md. This is the only place that knows about the
 * model's value range, its schedule's time variable and its size multiple.
 */
import * as ort from 'onnxruntime-node';
import type { Shape } from '../types.js';
import { UserError } from '../types.js';
import { type ModelFolder, readManifest, verifyChecksums } from './manifest.js';
import { crop, pad, padAdjoint, roundUp, zeroPad } from './pad.js';
import { createSession, providerOrder, type ProviderChoice, type SessionResult } from './providers.js';
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

export interface LoadOptions {
  provider?: ProviderChoice;
  /** Skip the sha256 check (only for models just verified by the caller). */
  trustChecksums?: boolean;
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
    const fwd = await createSession(model.forwardPath, order);
    // The VJP graph runs on the provider the forward graph got, so both see the same arithmetic.
    const vjp = model.vjpPath ? await createSession(model.vjpPath, [fwd.provider, 'cpu']) : undefined;
    return new OnnxDenoiser(model, fwd, vjp);
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
    const g = this.model.manifest.graphs.forward;
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
    const g = this.model.manifest.graphs.vjp!;
    const vp = zeroPad(v, s, H, W);
    const dims = [1, s.c, H, W];
    const out = await this.run(
      this.vjp,
      {
        [g.inputs.x]: new ort.Tensor('float32', x, dims),
        [g.inputs.t]: new ort.Tensor('float32', Float32Array.of(t), [1]),
        [g.inputs.v]: new ort.Tensor('float32', Float32Array.from(vp), dims),
      },
      g.output,
    );
    this.counters.vjps++;
    // J_m^T v = v - s sqrt(abar) (d eps/d x)^T v; the value-range scale cancels between z and D.
    const r = new Float64Array(vp.length);
    for (let i = 0; i < vp.length; i++) r[i] = vp[i] - sEff * sq * out[i];
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
