/**
 * The inference service: runs restoration jobs with the engine, one at a time, in a process of its
 * own (onnxruntime's session.run blocks its thread for a whole network call). It keeps the loaded
 * model between jobs and the full-precision results for export, so only display copies ever
 * leave this process. It also does the pixel work main asks for between jobs (service/photos.ts):
 * display copies of TIFFs, masks read and written, damage detected and the photo's degradations
 * estimated; main never decodes or encodes an image.
 */
import { restorePhoto } from '../engine/photo/restore-photo.js';
import { readImage, writeImage } from '../engine/photo/image.js';
import type { PhotoMetadata } from '../engine/photo/metadata.js';
import { observedFromRestoreLevels } from '../engine/photo/user-mask.js';
import { type Denoiser, OnnxDenoiser } from '../engine/model/denoiser.js';
import type { GraphPrecision } from '../engine/model/choices.js';
import { outputShape } from '../engine/job/restore.js';
import { configureMemoryProbe, type MemoryProbeRequest } from '../engine/model/memory.js';
import { CancelledError, type Img, UserError } from '../engine/types.js';
import { safeParse } from '../common/schema.js';
import { FileChangedError } from '../common/file-identity.js';
import {
  type DetectDamageMessage,
  type DisplayMessage,
  type FromService,
  memoryProbeRequestSchema,
  type ReadMaskMessage,
  type RestoreFileMessage,
  type RunMessage,
  type ToService,
  toServiceSchema,
} from '../common/service-protocol.js';
import { toDisplay } from '../engine/photo/display.js';
import { damageOf, displayCopy, estimateOf, maskOf, writeMask } from './photos.js';
import { probeDevices } from './probe.js';
import { restoreFile } from './restore-file.js';

export type Post = (msg: FromService, transfer?: ArrayBuffer[]) => void;

export interface LoadedModel {
  model: Denoiser;
  provider: string;
  fallbacks: { provider: string; reason: string }[];
  precision: GraphPrecision;
  precisionFallback?: string;
  release(): Promise<void>;
}

export type ModelLoader = (dir: string, provider: RunMessage['model']['provider']) => Promise<LoadedModel>;

export const onnxLoader: ModelLoader = async (dir, provider) => {
  const m = await OnnxDenoiser.load(dir, { provider });
  return { model: m, provider: m.provider, fallbacks: m.fallbacks, precision: m.precision, precisionFallback: m.precisionFallback, release: () => m.release() };
};

interface Kept {
  image: Img;
  alpha?: Float64Array;
  bitDepth: 8 | 16;
  /** The photo's EXIF, XMP and IPTC, written with the result. */
  metadata: PhotoMetadata;
}

/** Results kept for export; older ones are dropped (a 24 MP result is ~600 MB in float64). */
const KEEP_RESULTS = 2;
/** At most this often a preview is converted and sent, whatever previewEvery asks. */
const PREVIEW_MIN_INTERVAL_MS = 200;
/** Main stops a probe after 300 s; this only guards against an answer that never comes. */
const MEMORY_PROBE_TIMEOUT_MS = 330_000;

export class InferenceService {
  private current: { jobId: string; abort: AbortController } | undefined;
  private loaded: { key: string; value: LoadedModel } | undefined;
  private readonly results = new Map<string, Kept>();
  private readonly probes = new Map<string, { resolve: (peaks: number[]) => void; reject: (e: Error) => void }>();
  private nextProbe = 0;

  constructor(
    private readonly post: Post,
    private readonly load: ModelLoader = onnxLoader,
  ) {}

  /** Entry point for every incoming message; never throws. */
  handle(raw: unknown): void {
    const parsed = safeParse(toServiceSchema, raw);
    if (!parsed.ok) {
      console.error(`[service] rejected message: ${parsed.error}`);
      return;
    }
    const msg = parsed.value;
    void this.dispatch(msg).catch((e) => console.error('[service] internal error', e));
  }

  private async dispatch(msg: ToService): Promise<void> {
    switch (msg.type) {
      case 'run':
        return this.run(msg);
      case 'restore-file':
        return this.restoreFile(msg);
      case 'cancel':
        if (this.current?.jobId === msg.jobId) this.current.abort.abort();
        return;
      case 'probe':
        return this.reply(msg.requestId, () => probeDevices(msg.dir));
      case 'validate':
        return this.reply(msg.requestId, async () => {
          const model = await OnnxDenoiser.load(msg.dir, { provider: 'cpu' });
          await model.release();
          return null;
        });
      case 'export':
        return this.reply(msg.requestId, async () => {
          // An earlier run of the history is read back from the file written when it finished.
          const kept = this.results.get(msg.jobId) ?? (msg.from ? await keptFrom(msg.from) : undefined);
          if (!kept) throw new UserError('this result is no longer available (the service restarted); run the job again');
          await writeImage(msg.path, kept.image, { alpha: kept.alpha, bitDepth: msg.bitDepth, quality: msg.quality, protect: msg.protect, metadata: kept.metadata });
          return msg.path;
        });
      case 'load-result':
        return this.reply(msg.requestId, async () => {
          // An autosaved result: kept as the job's result again, its display copy for the page.
          const file = await readImage(msg.path, { maxPixels: msg.maxPixels });
          this.keep(msg.jobId, { image: file.image, alpha: file.alpha, bitDepth: file.bitDepth, metadata: file.metadata });
          return { width: file.width, height: file.height, image: toDisplay(file.image, Number.MAX_SAFE_INTEGER, msg.displayMaxPixels, file.alpha) };
        });
      case 'display':
        return this.display(msg);
      case 'read-mask':
        return this.readMask(msg);
      case 'write-mask':
        return this.reply(msg.requestId, () => writeMask(msg));
      case 'detect-damage':
        return this.readMask(msg);
      case 'estimate':
        return this.reply(msg.requestId, () => estimateOf(msg), 'estimating from the photo failed');
      case 'configure':
        configureMemoryProbe({
          ...(msg.cacheDir ? { cacheDir: msg.cacheDir } : {}),
          // Under Electron this process cannot start Node (the RunAsNode fuse is off): main starts
          // the probe as a utility process of its own.
          runner: msg.memoryProbe === 'main' ? (request) => this.probeInMain(request) : undefined,
        });
        return;
      case 'memory-probe-result': {
        const p = this.probes.get(msg.requestId);
        this.probes.delete(msg.requestId);
        if (msg.ok && msg.peaks) p?.resolve(msg.peaks);
        else p?.reject(new Error(msg.error ?? 'the memory probe failed'));
        return;
      }
    }
  }

  private probeInMain(request: MemoryProbeRequest): Promise<number[]> {
    const parsed = safeParse(memoryProbeRequestSchema, request);
    if (!parsed.ok) return Promise.reject(new Error(`memory probe request not sent: ${parsed.error}`));
    const requestId = `m${++this.nextProbe}`;
    return new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.probes.delete(requestId);
        reject(new Error('the memory probe did not answer'));
      }, MEMORY_PROBE_TIMEOUT_MS);
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          f(v);
        };
      this.probes.set(requestId, { resolve: settle(resolve), reject: settle(reject) });
      this.post({ type: 'memory-probe', requestId, request: parsed.value });
    });
  }

  /** A display copy for main to serve, or why not; `changed` when the file is not the one opened. */
  private async display(msg: DisplayMessage): Promise<void> {
    const { requestId } = msg;
    try {
      const png = await displayCopy(msg);
      this.post({ type: 'display-copy', requestId, png }, [png.buffer as ArrayBuffer]);
    } catch (e) {
      if (e instanceof FileChangedError) this.post({ type: 'display-copy', requestId, changed: true, error: e.message });
      else this.post({ type: 'display-copy', requestId, error: userMessage(e) });
    }
  }

  /** A mask for the page: a file the person chose, or the damage found on the photo. */
  private async readMask(msg: ReadMaskMessage | DetectDamageMessage): Promise<void> {
    const { requestId } = msg;
    try {
      const mask = msg.type === 'read-mask' ? await maskOf(msg) : await damageOf(msg);
      this.post({ type: 'mask', requestId, mask }, [mask.buffer as ArrayBuffer]);
    } catch (e) {
      this.post({ type: 'mask', requestId, error: msg.type === 'read-mask' ? userMessage(e) : userMessage(e, 'damage detection failed') });
    }
  }

  /** @param failed how an internal error starts its line for the person. */
  private async reply(requestId: string, work: () => Promise<unknown>, failed?: string): Promise<void> {
    try {
      this.post({ type: 'reply', requestId, ok: true, value: await work() });
    } catch (e) {
      this.post({ type: 'reply', requestId, ok: false, error: userMessage(e, failed) });
    }
  }

  private async model(ref: RunMessage['model']): Promise<LoadedModel> {
    const key = `${ref.provider}\0${ref.dir}`;
    if (this.loaded?.key === key) return this.loaded.value;
    const previous = this.loaded;
    this.loaded = undefined;
    await previous?.value.release().catch(() => undefined);
    const value = await this.load(ref.dir, ref.provider);
    this.loaded = { key, value };
    return value;
  }

  /**
   * One job at a time, cancellable between steps: `body` runs with the job's abort signal; a
   * cancel reports 'cancelled', any other error 'failed' with its one-line message.
   */
  private async job(jobId: string, body: (abort: AbortController) => Promise<void>): Promise<void> {
    if (this.current) {
      // main queues jobs; a second one here is a bug on that side, reported rather than run.
      this.post({ type: 'failed', jobId, message: 'the service is busy with another job' });
      return;
    }
    const abort = new AbortController();
    this.current = { jobId, abort };
    try {
      await body(abort);
    } catch (e) {
      if (e instanceof CancelledError || abort.signal.aborted) this.post({ type: 'cancelled', jobId });
      else this.post({ type: 'failed', jobId, message: userMessage(e) });
    } finally {
      this.current = undefined;
    }
  }

  /** The model a job runs on, announced to main with the provider and precision it got (unless cancelled while it loaded). */
  private async started(jobId: string, ref: RunMessage['model'], signal: AbortSignal): Promise<LoadedModel> {
    const loaded = await this.model(ref);
    if (signal.aborted) throw new CancelledError();
    this.post({
      type: 'started',
      jobId,
      provider: loaded.provider,
      fallbacks: loaded.fallbacks,
      precision: loaded.precision,
      ...(loaded.precisionFallback ? { precisionFallback: loaded.precisionFallback } : {}),
    });
    return loaded;
  }

  private run(msg: RunMessage): Promise<void> {
    const { jobId } = msg;
    return this.job(jobId, async (abort) => {
      const file = await readImage(msg.imagePath, { maxPixels: msg.maxPixels });
      const { image } = file;
      let observed: Float64Array | undefined;
      if (msg.mask) {
        // The service's trust boundary: the painted flags must match the photo as it is now.
        if (msg.mask.length !== image.h * image.w) {
          throw new UserError(`the mask is ${msg.mask.length} pixels but the image has ${image.h * image.w}; open the image again`);
        }
        // The page's levels (255 = restore, soft in between) become the engine's observed weights here, once.
        observed = observedFromRestoreLevels(msg.mask);
      }
      const loaded = await this.started(jobId, msg.model, abort.signal);
      let lastPreview = 0;
      const { result, alpha, bitDepth } = await restorePhoto(
        loaded.model,
        file,
        { observed, spec: msg.spec, solver: msg.solver, previewEvery: msg.previewEvery },
        {
          signal: abort.signal,
          // The page's progress bar moves with each network step, not only each noise level.
          stepProgress: true,
          onProgress: (p) => {
            const now = performance.now();
            const wantPreview = p.preview && now - lastPreview >= PREVIEW_MIN_INTERVAL_MS;
            const preview = wantPreview ? toDisplay(p.preview!, msg.previewMaxSide) : undefined;
            if (preview) lastPreview = now;
            this.post(
              { type: 'progress', jobId, step: p.step, total: p.total, elapsedMs: p.elapsedMs, etaMs: Math.max(0, p.etaMs), preview },
              preview ? [preview.data.buffer as ArrayBuffer] : undefined,
            );
          },
        },
      );
      const out = result.image;
      this.keep(jobId, { image: out, alpha, bitDepth, metadata: file.metadata });
      const shown = toDisplay(out, Number.MAX_SAFE_INTEGER, msg.displayMaxPixels, alpha);
      const shape = outputShape(msg.spec, image);
      this.post(
        {
          type: 'done',
          jobId,
          width: shape.w,
          height: shape.h,
          image: shown,
          stats: result.stats,
          operator: result.operator,
          provider: loaded.provider,
          precision: loaded.precision,
        },
        [shown.data.buffer as ArrayBuffer],
      );
    });
  }

  /** A batch's photo (service/restore-file.ts): a job like run, with progress and cancel, and no result kept. */
  private restoreFile(msg: RestoreFileMessage): Promise<void> {
    const { jobId } = msg;
    return this.job(jobId, async (abort) => {
      const t0 = performance.now();
      const status = await restoreFile(msg, {
        signal: abort.signal,
        model: async () => (await this.started(jobId, msg.model, abort.signal)).model,
        onProgress: (p) => this.post({ type: 'progress', jobId, step: p.step, total: p.total, elapsedMs: p.elapsedMs, etaMs: Math.max(0, p.etaMs) }),
      });
      this.post({ type: 'file-done', jobId, status, wallMs: performance.now() - t0 });
    });
  }

  private keep(jobId: string, kept: Kept): void {
    this.results.set(jobId, kept);
    while (this.results.size > KEEP_RESULTS) this.results.delete(this.results.keys().next().value!);
  }
}

/** A result written before (16-bit PNG, alpha and metadata kept), as if it had just been kept. */
async function keptFrom(path: string): Promise<Kept> {
  const file = await readImage(path);
  return { image: file.image, alpha: file.alpha, bitDepth: file.bitDepth, metadata: file.metadata };
}

export function userMessage(e: unknown, failed = 'restoration failed'): string {
  if (e instanceof UserError) return e.message;
  const text = e instanceof Error ? e.message : String(e);
  // Internal errors keep their stack in the service log; the person gets the first line.
  console.error('[service]', e);
  return `${failed}: ${text.split('\n')[0]}`;
}
