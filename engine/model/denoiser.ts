/**
 * The denoiser D(z, sigma) and its Jacobian-transpose product, in image space [0, 1], on top of a
 * model folder that follows docs/MODEL_CONTRACT.md. This is the only place that knows about the
 * model's value range, its schedule's time variable and its size multiple.
 */
import * as ort from 'onnxruntime-node';
import type { Shape } from '../types.js';
import { UserError } from '../types.js';
import { type GraphPaths, type GraphSet, type GraphSpec, graphSet, type ModelFolder, type Precision, readManifest, verifyChecksums } from './manifest.js';
import { crop, pad, padAdjoint, roundUp, zeroPad } from './pad.js';
import { debugLog, installedProviders, isGpuProvider, openSession, presenceHere, providerOrder, type ProviderChoice, reasonOf, type SessionResult } from './providers.js';
import type { PrecisionChoice } from './choices.js';
import type { Denoiser, DenoiserCounters } from './denoiser-interface.js';
import { VpSchedule } from './schedule.js';

// What solvers call of a denoiser, kept apart from onnxruntime (denoiser-interface.ts).
export type { Denoiser, DenoiserCounters } from './denoiser-interface.js';

export { PRECISION_CHOICES, type PrecisionChoice } from './choices.js';
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
    return hasFp16
      ? { precision: 'fp16', why: 'fp16 asked for' }
      : { precision: 'fp32', why: 'the model has no fp16 variant', fallback: 'fp16 asked for, but the model has no fp16 variant: running fp32' };
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

  /**
   * Reads and checks the model folder (manifest fields, files, checksums), then opens its graphs
   * on the first provider of the order that starts them, checks their input and output names and
   * runs each once at the smallest size the model accepts (probeGraphs). A provider that fails is
   * recorded in `fallbacks` and the next one tried; the order ends on the CPU, and what fails there
   * is the model's fault: a UserError naming the graph file.
   */
  static async load(dir: string, opts: LoadOptions = {}): Promise<OnnxDenoiser> {
    const model = readManifest(dir);
    if (!opts.trustChecksums) await verifyChecksums(model);
    const presence = presenceHere();
    const order = providerOrder(opts.provider ?? 'auto', process.platform, installedProviders());
    const hasFp16 = graphSet(model, 'fp16') !== undefined;
    const fallbacks: SessionResult['fallbacks'] = [];
    for (const provider of order) {
      const present = presence.get(provider);
      if (present && !present.present && provider !== 'cpu') {
        // Only an explicit choice gets here ('auto' leaves absent providers out).
        fallbacks.push({ provider, reason: present.reason });
        debugLog(`${provider} provider skipped: ${present.reason}`);
        continue;
      }
      const want = wantedPrecision(opts.precision ?? 'auto', provider, hasFp16);
      // The fallback that matters is the one of the provider that starts, not of those tried before it.
      let precisionFallback = want.fallback;
      if (want.precision === 'fp16') {
        try {
          const g = await openGraphs(model, 'fp16', provider);
          return new OnnxDenoiser(model, { session: g.fwd, provider, fallbacks }, g.vjp && { session: g.vjp.session, provider: g.vjp.provider, fallbacks }, 'fp16', want.why, precisionFallback);
        } catch (e) {
          if (!(e instanceof GraphFailure)) throw e;
          precisionFallback = `the fp16 graphs could not start on ${provider} (${e.reason}): running fp32`;
          debugLog(precisionFallback);
        }
      }
      const why = want.precision === 'fp16' ? 'the fp16 graphs could not start' : want.why;
      try {
        const g = await openGraphs(model, 'fp32', provider);
        return new OnnxDenoiser(model, { session: g.fwd, provider, fallbacks }, g.vjp && { session: g.vjp.session, provider: g.vjp.provider, fallbacks }, 'fp32', why, precisionFallback);
      } catch (e) {
        if (!(e instanceof GraphFailure)) throw e;
        // The CPU provider runs every valid graph: a failure there is the graph's.
        if (provider === 'cpu') throw new UserError(`model ${model.dir}: ${e.line}`);
        fallbacks.push({ provider, reason: e.reason });
        debugLog(`${provider} provider could not start ${e.file} (${e.reason}); trying the next provider`);
      }
    }
    // Every order ends on the CPU, which returns or throws above.
    throw new Error(`no execution provider was tried for ${model.forwardPath}`);
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
    if (m.fixedSize && (s.h !== m.fixedSize[0] || s.w !== m.fixedSize[1])) throw new UserError(`the model only accepts ${m.fixedSize[1]}x${m.fixedSize[0]} images, got ${s.w}x${s.h}`);
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

/**
 * onnxruntime could not create or run one graph, or the probe's output was wrong. Whether that is
 * the provider's fault (try the next) or the graph's (the CPU: a UserError) is the caller's call.
 */
class GraphFailure extends Error {
  constructor(
    /** The graph file, relative to the model folder. */
    readonly file: string,
    /** The line for the person, after "model DIR: ". */
    readonly line: string,
    /** Short reason for the provider fallback list. */
    readonly reason: string,
  ) {
    super(line);
  }
}

/** Sessions of one precision's graphs, each named and checked; the VJP may have landed on the CPU. */
interface OpenGraphs {
  fwd: ort.InferenceSession;
  vjp?: { session: ort.InferenceSession; provider: string };
}

/**
 * Opens one precision's graphs on a provider, checks their names against the manifest and probes
 * them. Throws UserError for names that do not match (the model's fault on any provider) and
 * GraphFailure for anything onnxruntime or the probe refused. Sessions opened are released on
 * failure.
 */
async function openGraphs(model: ModelFolder, precision: Precision, provider: string): Promise<OpenGraphs> {
  const { specs, paths } = graphSet(model, precision)!;
  const where = precision === 'fp32' ? 'graphs' : 'variants.fp16';
  const opened: ort.InferenceSession[] = [];
  const open = async (path: string, spec: GraphSpec, on: string): Promise<ort.InferenceSession> => {
    let session: ort.InferenceSession;
    try {
      session = await openSession(path, on);
    } catch (e) {
      // onnxruntime's line starts "Load model from <path> failed:"; the file is named already.
      const why = reasonOf(e).replace(/^Load model from .* failed:\s*/, '');
      throw new GraphFailure(spec.file, `${spec.file} is not a valid ONNX graph (${why})`, why);
    }
    opened.push(session);
    return session;
  };
  try {
    const fwd = await open(paths.forwardPath, specs.forward, provider);
    checkNames(model, fwd, specs.forward, `${where}.forward`);
    let vjp: OpenGraphs['vjp'];
    if (paths.vjpPath && specs.vjp) {
      try {
        vjp = { session: await open(paths.vjpPath, specs.vjp, provider), provider };
      } catch (e) {
        // fp32 on a GPU provider: the VJP graph alone may run on the CPU (the forward graph, all
        // that vml-fp uses, keeps the GPU). The fp16 pair stays on one provider.
        if (!(e instanceof GraphFailure) || provider === 'cpu' || precision === 'fp16') throw e;
        debugLog(`${specs.vjp.file} could not start on ${provider} (${e.reason}); it runs on the cpu provider`);
        vjp = { session: await open(paths.vjpPath, specs.vjp, 'cpu'), provider: 'cpu' };
      }
      checkNames(model, vjp.session, specs.vjp, `${where}.vjp`);
    }
    await probeGraphs(model, specs, fwd, vjp?.session);
    return { fwd, vjp };
  } catch (e) {
    for (const s of opened) await s.release().catch(() => undefined);
    throw e;
  }
}

const list = (names: readonly string[]): string => `[${names.join(', ')}]`;

/** The graph's own input and output names against the manifest's: the same set of inputs, and the output among its outputs. */
function checkNames(model: ModelFolder, session: ort.InferenceSession, spec: GraphSpec, which: string): void {
  const expected = Object.values(spec.inputs);
  const found = session.inputNames;
  if (expected.length !== found.length || !expected.every((n) => found.includes(n))) {
    const isVjp = which.endsWith('.vjp');
    const set = which.slice(0, which.lastIndexOf('.'));
    // A forward graph has 2 inputs (x, t), a VJP graph 3 (x, t, v): the count tells a swapped pair.
    const swapped = found.length === (isVjp ? 2 : 3) ? ` (it looks like the ${isVjp ? 'forward' : 'VJP'} graph: are ${set}.forward and ${set}.vjp swapped?)` : '';
    throw new UserError(`model ${model.dir}: ${spec.file} has inputs ${list(found)}, but manifest.json's ${which}.inputs names ${list(expected)}${swapped}`);
  }
  if (!session.outputNames.includes(spec.output))
    throw new UserError(`model ${model.dir}: ${spec.file} has outputs ${list(session.outputNames)}, but manifest.json's ${which}.output names ${spec.output}`);
}

/**
 * Runs each graph once at the smallest size the model accepts (fixedSize, or a sizeMultiple
 * square) and checks the output: present, float32, the input's shape, finite. This is where a
 * size multiple the graph cannot take (sizeMultiple 7 for a network that halves the image),
 * a garbage graph that parses, or a graph that outputs NaN shows, rather than deep in a solve.
 */
async function probeGraphs(model: ModelFolder, specs: GraphSet, fwd: ort.InferenceSession, vjp: ort.InferenceSession | undefined): Promise<void> {
  const m = model.manifest;
  const k = m.sizeMultiple;
  const [h, w] = m.fixedSize ?? [k, k];
  const dims = [1, m.channels, h, w];
  const n = m.channels * h * w;
  const field = m.fixedSize ? `fixedSize ${list(m.fixedSize.map(String))}` : `sizeMultiple ${k}`;
  const t = (m.schedule.timesteps - 1) / 2;
  // A plausible x_t (a few units at most) and a v of max |v| = 1, as the engine sends them.
  const x = Float32Array.from({ length: n }, (_, i) => 0.8 * Math.sin(0.618 * i + 0.3));
  const v = Float32Array.from({ length: n }, (_, i) => Math.cos(1.3 * i));
  const probe = async (session: ort.InferenceSession, spec: GraphSpec, feeds: Record<string, ort.Tensor>): Promise<void> => {
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new GraphFailure(spec.file, `${spec.file} fails on a ${m.channels}x${h}x${w} input, the smallest that manifest.json's ${field} allows (onnxruntime: ${reasonOf(e)})`, reasonOf(e));
    }
    const y = out[spec.output];
    const bad = (why: string): never => {
      throw new GraphFailure(spec.file, `${spec.file}: output ${spec.output} ${why} on a ${m.channels}x${h}x${w} probe input`, `output ${spec.output} ${why}`);
    };
    if (!y) bad('is missing');
    if (y.type !== 'float32' || !(y.data instanceof Float32Array)) bad(`is ${y.type}, not float32`);
    if (y.dims.length !== 4 || y.dims.some((d, i) => d !== dims[i])) bad(`has shape ${list(y.dims.map(String))}, not the input's ${list(dims.map(String))}`);
    const data = y.data as Float32Array;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad('holds NaN or Inf');
  };
  const xt = new ort.Tensor('float32', x, dims);
  const tt = new ort.Tensor('float32', Float32Array.of(t), [1]);
  await probe(fwd, specs.forward, { [specs.forward.inputs.x]: xt, [specs.forward.inputs.t]: tt });
  if (vjp && specs.vjp) {
    const g = specs.vjp;
    await probe(vjp, g, { [g.inputs.x]: xt, [g.inputs.t]: tt, [g.inputs.v]: new ort.Tensor('float32', v, dims) });
  }
}
