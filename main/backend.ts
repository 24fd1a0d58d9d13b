/**
 * What the main process does for each request of the renderer, without Electron: Electron's IPC
 * (main/ipc.ts) and the loopback host of the end-to-end test both call these handlers after
 * validating the request. Dialogs, the service process and the way events reach the renderer are
 * passed in, so the same logic runs under Electron, in tests and in the loopback host.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  type AppEvent,
  type AppState,
  type BatchState,
  type DamageFound,
  type DeviceReport,
  type ExportFormat,
  type Handlers,
  MAX_PIXELS,
  type ModelInfo,
  type OpenedImage,
  type PhotoEstimate,
  type ProbeResult,
  type RequestOf,
  type RestoredSession,
  type RgbaImage,
  type SessionState,
} from '../common/api.js';
import { FileChangedError, identityToWire } from '../common/file-identity.js';
import * as s from '../common/schema.js';
import { EXECUTION_PROVIDERS, GRAPH_PRECISIONS, PROVIDER_CHOICES } from '../engine/model/choices.js';
import { readManifest } from '../engine/model/manifest.js';
import { UserError } from '../engine/types.js';
import { BatchQueue } from './batch.js';
import { ImageRegistry, type Registered } from './images.js';
import { sameFile } from './paths.js';
import type { CloseAnswer } from './close-guard.js';
import { ServiceClient, type ServiceClientOptions, ServiceStoppedError, type SpawnService } from './service-client.js';
import { SessionFiles } from './session-files.js';
import type { SettingsStore } from './settings.js';

export interface Dialogs {
  openImage(): Promise<string | null>;
  saveImage(defaultPath: string, format: ExportFormat): Promise<string | null>;
  /** Asked before a result replaces the photo it was made from. */
  confirmReplaceOriginal(path: string): Promise<boolean>;
  openMask(): Promise<string | null>;
  saveMask(defaultPath: string): Promise<string | null>;
  chooseModelDir(): Promise<string | null>;
  /** A batch's photos: several files at once (null: cancelled). */
  openImages?(): Promise<string[] | null>;
  /** A folder: the photos of a batch ('photos'), or where it writes them ('output'). */
  chooseFolder?(purpose: 'photos' | 'output'): Promise<string | null>;
}

export interface BackendOptions {
  spawn: SpawnService;
  dialogs: Dialogs;
  settings: SettingsStore;
  /** How the renderer addresses an opened image (the image protocol's URL). */
  imageUrl: (id: string) => string;
  emit: (e: AppEvent) => void;
  /** The bundled model, used unless the user chose another folder. */
  defaultModelDir: string;
  /** Where pasted images are written so the service can read them. */
  tempDir: string;
  /** The autosaved session's folder (the app: `session` in its user-data folder). Default: in tempDir. */
  sessionDir?: string;
  /** The window's close, held until the page answers answerClose (the app: main/close-guard.ts). */
  closing?: { readonly pending: boolean; answer(answer: CloseAnswer): boolean };
  platform?: string;
  version?: string;
  /** Sent to each new service process first (where its memory-cost cache lives, how it probes). */
  configure?: ServiceClientOptions['configure'];
  /** Runs the memory probes the service asks main for (the app: memoryProbeHost). */
  memoryProbe?: ServiceClientOptions['memoryProbe'];
  /** Service supervision knobs (tests shorten them). */
  cancelGraceMs?: number;
  restartDelayMs?: number;
}

const EXTENSIONS: Record<ExportFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp' };
const WRITABLE = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff']);
const KEEP_JOBS = 32;

const deviceReportsSchema = s.object({
  devices: s.array(
    s.object({
      provider: s.oneOf(EXECUTION_PROVIDERS),
      label: s.string({ max: 200 }),
      ok: s.boolean(),
      ms: s.optional(s.number({ min: 0 })),
      precision: s.optional(s.oneOf(GRAPH_PRECISIONS)),
      note: s.optional(s.string({ max: 4096 })),
      reason: s.optional(s.string({ max: 4096 })),
    }),
    { max: 16 },
  ),
  recommended: s.oneOf(PROVIDER_CHOICES),
});

/** What the service answers to 'estimate', checked before it reaches the page. */
const photoEstimateSchema: s.Schema<PhotoEstimate> = s.object({
  sigmaY: s.optional(s.number({ min: 0, max: 1 })),
  blurStd: s.optional(s.number({ min: 0, max: 1000 })),
  greyscale: s.optional(s.boolean()),
  damaged: s.number({ min: 0, max: 1 }),
  notes: s.array(s.string({ max: 4096 }), { max: 8 }),
});

/** What the service answers to 'load-result'. */
const loadedResultSchema = s.object({
  width: s.int(1, 1e6),
  height: s.int(1, 1e6),
  image: s.object({ width: s.int(1, 100_000), height: s.int(1, 100_000), data: s.typed(Uint8ClampedArray, { max: 4 * 400e6 }) }),
});
/** Results larger than this are shown from a smaller display copy (as after a job). */
const DISPLAY_MAX_PIXELS = 64e6;

/** The same error toast is not repeated within this time (a page may load one image in several places). */
const REPEAT_ERROR_MS = 5000;

/** What a request to the service failed with, as one line: `doing` says what was being done. */
function serviceFailure(what: string, doing: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof ServiceStoppedError) throw new UserError(`${what}: ${e.message} while ${doing}; try again`);
    throw e;
  };
}

/** A file name for the temporary folder: the last 80 characters of the name's safe letters. */
const safeName = (name: string): string =>
  basename(name)
    .replace(/[^\w.-]+/g, '_')
    .slice(-80);

/** What the result of pass `pass` over a photo is called: photo-restored.png, photo-restored-2.png, ... */
function resultName(originalName: string, pass: number, ext: string): string {
  const stem = basename(originalName, extname(originalName));
  return `${stem}-restored${pass > 1 ? `-${pass}` : ''}${ext}`;
}

interface JobRecord {
  image: Registered;
  done: boolean;
}

export class Backend implements Handlers {
  readonly images: ImageRegistry;
  readonly service: ServiceClient;
  readonly session: SessionFiles;
  /** The batch queue (main/batch.ts); its photos are restored by the service, queued with the jobs. */
  readonly batch: BatchQueue;
  private readonly jobs = new Map<string, JobRecord>();
  /** Where each result was last exported (an exported result is referenced by the session, not copied). */
  private readonly exported = new Map<string, string>();
  /**
   * History: each finished run's result, written by the service as a 16-bit PNG into the temporary
   * folder (the service keeps only the last results in memory); undefined when it could not be.
   */
  private readonly runFiles = new Map<string, Promise<string | undefined>>();
  private lastError = { message: '', at: 0 };

  constructor(private readonly options: BackendOptions) {
    this.images = new ImageRegistry(options.imageUrl, (e) => this.displayCopy(e));
    this.session = new SessionFiles(options.sessionDir ?? join(options.tempDir, 'session'));
    this.service = new ServiceClient(options.spawn, {
      onJob: (event) => {
        const job = this.jobs.get(event.jobId);
        if (job && event.type === 'done') {
          job.done = true;
          this.keepRun(event.jobId, job.image);
        }
        options.emit({ kind: 'job', event });
      },
      onState: (state, message) => options.emit({ kind: 'service', state, message }),
      cancelGraceMs: options.cancelGraceMs,
      restartDelayMs: options.restartDelayMs,
      configure: options.configure,
      memoryProbe: options.memoryProbe,
    });
    this.batch = new BatchQueue({
      service: this.service,
      emit: (batch) => options.emit({ kind: 'batch', batch }),
      model: () => {
        const m = this.modelInfo();
        return { dir: m.dir, provider: this.options.settings.settings.provider, ...(m.problem ? { problem: m.problem } : {}) };
      },
    });
  }

  dispose(): void {
    this.service.dispose();
  }

  get modelDir(): string {
    return this.options.settings.modelDir ?? this.options.defaultModelDir;
  }

  modelInfo(dir = this.modelDir): ModelInfo {
    const bundled = dir === this.options.defaultModelDir;
    if (!existsSync(dir)) {
      const problem = `no model folder at ${dir}; choose one under Device (a folder with manifest.json)`;
      return { dir, name: basename(dir), description: '', hasVjp: false, sizeMultiple: 1, fixedSize: null, bundled, problem };
    }
    try {
      const { manifest: m } = readManifest(dir);
      return { dir, name: m.name, description: m.description, hasVjp: !!m.graphs.vjp, sizeMultiple: m.sizeMultiple, fixedSize: m.fixedSize, bundled };
    } catch (e) {
      const problem = e instanceof UserError ? e.message : String(e);
      return { dir, name: basename(dir), description: '', hasVjp: false, sizeMultiple: 1, fixedSize: null, bundled, problem };
    }
  }

  async getState(): Promise<AppState> {
    return {
      settings: this.options.settings.settings,
      recent: this.options.settings.recent,
      model: this.modelInfo(),
      service: this.service.status,
      platform: this.options.platform ?? process.platform,
      version: this.options.version ?? '0.0.0',
    };
  }

  async setSettings(patch: RequestOf<'setSettings'>) {
    return this.options.settings.update(patch);
  }

  /** Opens a path that main decided on (dialog, menu, recent list, command line). */
  async open(path: string, temporary = false, displayName?: string): Promise<OpenedImage> {
    const entry = await this.images.register(path, temporary, displayName);
    if (!temporary) {
      this.options.settings.addRecent(path);
      this.options.emit({ kind: 'recent', recent: this.options.settings.recent });
    }
    return ImageRegistry.view(entry);
  }

  async openDialog(): Promise<OpenedImage | null> {
    const path = await this.options.dialogs.openImage();
    return path ? this.open(path) : null;
  }

  async openPath({ path }: RequestOf<'openPath'>): Promise<OpenedImage> {
    // Only the preload sends this, with the path Chromium gave a dropped File. Still checked:
    // register() accepts nothing but a regular file that decodes as an image.
    if (!/^([A-Za-z]:[\\/]|[\\/])/.test(path)) throw new UserError('cannot open a file without an absolute path');
    return this.open(path);
  }

  async openBytes({ name, bytes }: RequestOf<'openBytes'>): Promise<OpenedImage> {
    const safe = safeName(name) || 'pasted.png';
    const path = join(this.options.tempDir, `${randomBytes(6).toString('hex')}-${safe}`);
    await writeFile(path, bytes, { mode: 0o600 });
    return this.open(path, true, safe);
  }

  async openRecent({ index }: RequestOf<'openRecent'>): Promise<OpenedImage> {
    const path = this.options.settings.recentPaths[index];
    if (!path) throw new UserError('that recent file is no longer in the list');
    try {
      return await this.open(path);
    } catch (e) {
      this.options.settings.removeRecent(path);
      this.options.emit({ kind: 'recent', recent: this.options.settings.recent });
      throw e;
    }
  }

  async run(req: RequestOf<'run'>): Promise<void> {
    const image = this.images.get(req.imageId);
    if (!image) throw new UserError('the image is no longer open; open it again');
    if (this.jobs.has(req.jobId)) throw new UserError('a job with this id already exists');
    let mask: Uint8Array | undefined;
    if (req.spec.task === 'inpaint') {
      mask = req.mask;
      if (!mask) throw new UserError('inpainting needs a mask: paint over the area to restore');
      if (mask.length !== image.width * image.height) throw new UserError('the mask does not match the image size; open the image again');
      if (!mask.some((v) => v !== 0)) throw new UserError('the mask is empty: paint over the area to restore');
    } else if (req.spec.task === 'old-photo' && req.mask) {
      // An old photo's mask is optional: none (or an empty one) means no damage.
      if (req.mask.length !== image.width * image.height) throw new UserError('the mask does not match the image size; open the image again');
      if (req.mask.some((v) => v !== 0)) mask = req.mask;
    }
    // The service reads the photo by path: not when that path now leads to another file.
    if (!(await this.images.unchanged(image))) throw new UserError(`${image.name} is no longer the file that was opened; open it again`);
    const model = this.modelInfo();
    if (model.problem) throw new UserError(model.problem);
    this.jobs.set(req.jobId, { image, done: false });
    // The runs of the history stay until discarded; other records go, oldest first.
    for (const old of this.jobs.keys()) {
      if (this.jobs.size <= KEEP_JOBS) break;
      if (!this.runFiles.has(old)) this.jobs.delete(old);
    }
    this.service.enqueue({
      jobId: req.jobId,
      imagePath: image.path,
      mask,
      spec: req.spec,
      solver: req.solver,
      model: { dir: model.dir, provider: this.options.settings.settings.provider },
      maxPixels: MAX_PIXELS,
      previewEvery: 2,
      previewMaxSide: 1024,
      displayMaxPixels: DISPLAY_MAX_PIXELS,
    });
  }

  async cancel({ jobId }: RequestOf<'cancel'>): Promise<void> {
    this.service.cancel(jobId);
  }

  async exportResult({ jobId, format, quality }: RequestOf<'exportResult'>): Promise<{ path: string } | null> {
    const job = this.jobs.get(jobId);
    if (!job?.done) throw new UserError('there is no finished result to export');
    // A later pass is named after, and kept beside, the photo the passes started from.
    const input = job.image;
    const original = input.derived?.origin ?? input;
    const suggested = resultName(original.name, (input.derived?.pass ?? 0) + 1, EXTENSIONS[format]);
    const chosen = await this.options.dialogs.saveImage(original.temporary ? suggested : join(dirname(original.path), suggested), format);
    if (!chosen) return null;
    const path = WRITABLE.has(extname(chosen).toLowerCase()) ? chosen : chosen + EXTENSIONS[format];
    const replacing = !original.temporary && (await sameFile(path, original.path));
    if (replacing && !(await this.options.dialogs.confirmReplaceOriginal(path))) return null;
    const ext = extname(path).toLowerCase();
    const deep = (ext === '.png' || ext === '.tif' || ext === '.tiff') && original.bitDepth === 16;
    await this.service.request<string>({
      type: 'export',
      jobId,
      path,
      quality,
      bitDepth: deep ? 16 : 8,
      protect: [...(replacing ? [] : [original.path]), ...(input !== original ? [input.path] : [])],
      ...(await this.runFrom(jobId)),
    });
    this.exported.set(jobId, path);
    return { path };
  }

  /**
   * A finished result as the photo being restored, for another pass with another task: the service
   * writes it at full precision (16-bit PNG, alpha kept) into the temporary folder, and it is
   * opened from there like a pasted image. The original file is not touched.
   */
  async useResult({ jobId }: RequestOf<'useResult'>): Promise<OpenedImage> {
    const job = this.jobs.get(jobId);
    if (!job?.done) throw new UserError('there is no finished result to use');
    const input = job.image;
    const origin = input.derived?.origin ?? input;
    const pass = (input.derived?.pass ?? 0) + 1;
    const name = resultName(origin.name, pass, '.png');
    const path = join(this.options.tempDir, `${randomBytes(6).toString('hex')}-${safeName(name)}`);
    await this.service
      .request<string>({ type: 'export', jobId, path, quality: 100, bitDepth: 16, protect: [origin.path, input.path], ...(await this.runFrom(jobId)) })
      .catch(serviceFailure('cannot use the result', 'writing it'));
    const entry = await this.images.register(path, true, name);
    // Exports keep the origin's depth: the 16-bit copy only carries the result between passes.
    entry.bitDepth = origin.bitDepth;
    entry.derived = { origin: { path: origin.path, name: origin.name, temporary: origin.temporary, bitDepth: origin.bitDepth }, pass };
    return ImageRegistry.view(entry);
  }

  /**
   * History: a finished run's result is written to a file of its own as soon as it is done (while the
   * service still keeps it), so that any run can later be shown, exported or used as input.
   */
  private keepRun(jobId: string, image: Registered): void {
    const dir = join(this.options.tempDir, 'runs');
    const origin = image.derived?.origin;
    const path = join(dir, `${jobId}.png`);
    const written = mkdir(dir, { recursive: true, mode: 0o700 })
      .then(() => this.service.request<string>({ type: 'export', jobId, path, quality: 100, bitDepth: 16, protect: [image.path, ...(origin ? [origin.path] : [])] }))
      .then(
        () => path,
        (e: unknown) => {
          console.error(`[main] the run ${jobId} was not kept for the history:`, e);
          return undefined;
        },
      );
    this.runFiles.set(jobId, written);
  }

  /** The run's file for an export, when the service may no longer keep the result in memory. */
  private async runFrom(jobId: string): Promise<{ from?: string }> {
    const path = await this.runFiles.get(jobId);
    return path ? { from: path } : {};
  }

  async runImage({ jobId }: RequestOf<'runImage'>): Promise<RgbaImage> {
    const path = await this.runFiles.get(jobId);
    if (!path) throw new UserError('this run is no longer available; run it again');
    // Read back by the service and kept there again, so that exporting it next is quick.
    const loaded = loadedResultSchema.parse(
      await this.service.request<unknown>({ type: 'load-result', jobId, path, maxPixels: MAX_PIXELS, displayMaxPixels: DISPLAY_MAX_PIXELS }).catch(serviceFailure('cannot show the run', 'reading it')),
    );
    return loaded.image;
  }

  async discardRun({ jobId }: RequestOf<'discardRun'>): Promise<void> {
    const written = this.runFiles.get(jobId);
    this.runFiles.delete(jobId);
    this.jobs.delete(jobId);
    const path = await written;
    if (path) await rm(path, { force: true });
  }

  /** The photo as a registered file the service can read, still the file that was opened. */
  private async photo(imageId: string): Promise<Registered> {
    const image = this.images.get(imageId);
    if (!image) throw new UserError('the image is no longer open; open it again');
    if (!(await this.images.unchanged(image))) throw new UserError(`${image.name} is no longer the file that was opened; open it again`);
    return image;
  }

  async detectDamage({ imageId, sensitivity }: RequestOf<'detectDamage'>): Promise<DamageFound> {
    const image = await this.photo(imageId);
    const answer = await this.service
      .ask<'detect-damage'>({ type: 'detect-damage', path: image.path, maxPixels: MAX_PIXELS, sensitivity })
      .catch(serviceFailure('cannot detect damage', 'reading the photo'));
    if (!answer.mask) throw new UserError(answer.error ?? 'cannot detect damage');
    const n = image.width * image.height;
    if (answer.mask.length !== n) throw new UserError(`cannot detect damage: the service read ${answer.mask.length} pixels, not ${image.width}x${image.height}; open the image again`);
    // The share `detect` marks: pixels restored wholly (level 255); the soft levels around them are
    // pixels the detector is unsure of, trusted less (engine/estimate/damage.ts damageTrust).
    let marked = 0;
    for (const v of answer.mask) if (v === 255) marked++;
    return { mask: answer.mask, fraction: marked / n };
  }

  async estimate({ imageId, sensitivity, mask }: RequestOf<'estimate'>): Promise<PhotoEstimate> {
    const image = await this.photo(imageId);
    if (mask && mask.length !== image.width * image.height) throw new UserError('the mask does not match the image size; open the image again');
    const raw = await this.service
      .request<unknown>({ type: 'estimate', path: image.path, maxPixels: MAX_PIXELS, sensitivity, ...(mask?.some((v) => v !== 0) ? { mask } : {}) })
      .catch(serviceFailure('cannot estimate from the photo', 'reading it'));
    return photoEstimateSchema.parse(raw);
  }

  /**
   * A PNG copy of a photo Chromium cannot show (TIFF), for the image protocol. The service reads
   * the file through a handle checked against the identity registered here, and decodes it; a
   * failure also reaches the page as an error toast, since a broken image says nothing.
   */
  private async displayCopy(e: Registered): Promise<Uint8Array> {
    try {
      const answer = await this.service
        .ask<'display'>({ type: 'display', path: e.path, identity: identityToWire(e.identity), name: e.name, maxPixels: MAX_PIXELS })
        .catch(serviceFailure(`cannot show ${e.name}`, 'decoding it'));
      if (answer.changed) throw new FileChangedError(answer.error ?? `${e.name} is no longer the file that was opened; open it again`);
      if (!answer.png) throw new UserError(answer.error ?? `cannot show ${e.name}`);
      return answer.png;
    } catch (err) {
      if (err instanceof UserError) this.emitError(err.message);
      throw err;
    }
  }

  private emitError(message: string): void {
    const now = Date.now();
    if (message === this.lastError.message && now - this.lastError.at < REPEAT_ERROR_MS) return;
    this.lastError = { message, at: now };
    this.options.emit({ kind: 'error', message });
  }

  async importMask({ width, height }: RequestOf<'importMask'>): Promise<Uint8Array | null> {
    // No image above the limit can be open, so no mask for one is read (nor its dialog shown).
    if (width * height > MAX_PIXELS) throw new UserError(`cannot import a ${width}x${height} mask: above the ${MAX_PIXELS / 1e6} megapixel limit`);
    const path = await this.options.dialogs.openMask();
    if (!path) return null;
    // Decoded in the service: main never decodes an image.
    const answer = await this.service.ask<'read-mask'>({ type: 'read-mask', path, width, height }).catch(serviceFailure('cannot import the mask', 'reading it'));
    if (!answer.mask) throw new UserError(answer.error ?? 'cannot import the mask');
    if (answer.mask.length !== width * height) throw new UserError(`cannot import the mask: the service decoded ${answer.mask.length} pixels, not ${width}x${height}`);
    return answer.mask;
  }

  async exportMask({ imageId, width, height, mask }: RequestOf<'exportMask'>): Promise<{ path: string } | null> {
    if (mask.length !== width * height) throw new UserError('the mask does not match its size');
    const image = this.images.get(imageId);
    const stem = image ? basename(image.name, extname(image.name)) : 'mask';
    const suggested = `${stem}-mask.png`;
    const chosen = await this.options.dialogs.saveMask(image && !image.temporary ? join(dirname(image.path), suggested) : suggested);
    if (!chosen) return null;
    const path = extname(chosen).toLowerCase() === '.png' ? chosen : `${chosen}.png`;
    // Encoded in the service, like every image.
    await this.service.request<string>({ type: 'write-mask', path, width, height, mask, protect: image ? [image.path] : [] }).catch(serviceFailure('cannot export the mask', 'writing it'));
    return { path };
  }

  async probeDevices(): Promise<ProbeResult> {
    const model = this.modelInfo();
    if (model.problem) throw new UserError(`cannot test devices without a model: ${model.problem}`);
    const raw = await this.service.request<unknown>({ type: 'probe', dir: model.dir });
    const parsed = deviceReportsSchema.parse(raw);
    return { devices: parsed.devices as DeviceReport[], recommended: parsed.recommended };
  }

  async chooseModel(): Promise<ModelInfo | null> {
    const dir = await this.options.dialogs.chooseModelDir();
    if (!dir) return null;
    const info = this.modelInfo(dir);
    if (info.problem) throw new UserError(info.problem);
    // The service loads it as a job would (checksums, graph names, a probe run): the chooser
    // refuses a folder with the same line the CLI gives for it.
    await this.service.request<unknown>({ type: 'validate', dir });
    this.options.settings.setModelDir(dir);
    return info;
  }

  /** Back to the model that ships with the app: the chosen folder is forgotten. */
  async useBundledModel(): Promise<ModelInfo> {
    this.options.settings.setModelDir(undefined);
    return this.modelInfo();
  }

  /**
   * Autosave: the photo's path and identity, the task's settings, the mask as the page's levels
   * (checked against the photo's size; main writes them as they are, never decoding anything) and
   * the latest result, which the service writes as a 16-bit PNG unless it was exported.
   */
  async saveSession({ imageId, task, mask, result, running }: RequestOf<'saveSession'>): Promise<void> {
    const photo = this.images.get(imageId);
    if (!photo) throw new UserError('the photo is no longer open; nothing was autosaved');
    if (mask && mask.length !== photo.width * photo.height) throw new UserError('the mask does not match the image size; nothing was autosaved');
    const job = result && this.jobs.get(result.jobId);
    let kept: Parameters<SessionFiles['save']>[0]['result'];
    if (result && job?.done && job.image === photo) {
      const exported = this.exported.get(result.jobId);
      const origin = photo.derived?.origin;
      kept = exported
        ? { info: result, exported }
        : {
            info: result,
            write: (path) => this.service.request<string>({ type: 'export', jobId: result.jobId, path, quality: 100, bitDepth: 16, protect: [photo.path, ...(origin ? [origin.path] : [])] }),
          };
    }
    await this.session.save({ photo, task, mask, running, result: kept });
  }

  async clearSession(): Promise<void> {
    await this.session.clear();
  }

  async getSession(): Promise<SessionState> {
    return { crashed: this.session.takeCrashed(), session: await this.session.offer() };
  }

  /**
   * The saved session back: the photo opened again if it is still the file saved (same size and
   * modification time), its mask, settings and result. A mask or result that cannot be read back
   * is left out with a line in `notes`; a photo gone or changed restores nothing.
   */
  async restoreSession(): Promise<RestoredSession> {
    const stored = await this.session.read();
    if (!stored) throw new UserError('there is no saved session to restore');
    const saved = stored.photo;
    const problem = await this.session.photoProblem(saved);
    if (problem) throw new UserError(problem);
    let path = saved.path;
    if (saved.temporary) {
      // The session folder keeps its own copy: the photo being restored is another one.
      path = join(this.options.tempDir, `${randomBytes(6).toString('hex')}-${safeName(saved.name)}`);
      await copyFile(saved.path, path);
    }
    const entry = await this.images.register(path, saved.temporary, saved.name);
    if (entry.width !== saved.width || entry.height !== saved.height) throw new UserError(`${saved.name} has been changed since (it is ${entry.width}x${entry.height} now)`);
    if (saved.derived) {
      entry.derived = saved.derived;
      entry.bitDepth = saved.derived.origin.bitDepth;
    }
    const notes: string[] = [];
    let mask: Uint8Array | undefined;
    if (stored.mask) {
      mask = await this.session.readMask(stored.mask, entry.width * entry.height);
      if (!mask) notes.push('The painted mask could not be read back.');
    }
    let result: RestoredSession['result'];
    if (stored.result) {
      const { info, file, exported } = stored.result;
      try {
        if (!(await this.session.unchanged(file))) throw new UserError(exported ? `${file.path} has been changed or removed` : 'its file has been changed or removed');
        const loaded = loadedResultSchema.parse(
          await this.service.request<unknown>({ type: 'load-result', jobId: info.jobId, path: file.path, maxPixels: MAX_PIXELS, displayMaxPixels: DISPLAY_MAX_PIXELS }),
        );
        if (loaded.width !== info.width || loaded.height !== info.height) throw new UserError(`it is ${loaded.width}x${loaded.height}, not ${info.width}x${info.height}`);
        this.jobs.set(info.jobId, { image: entry, done: true });
        // A run of the photo's history again, with a file of its own (the service keeps it now).
        this.keepRun(info.jobId, entry);
        if (exported) this.exported.set(info.jobId, file.path);
        else this.session.adopt(info.jobId, file);
        result = { ...info, image: loaded.image, saved: exported };
      } catch (e) {
        notes.push(`The result was not restored: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}.`);
      }
    }
    return { image: ImageRegistry.view(entry), task: stored.task, ...(mask ? { mask } : {}), ...(result ? { result } : {}), running: stored.running, notes };
  }

  /**
   * The page's answer to close-requested. Quitting without saving discards the autosaved session
   * too (before the window goes); an answer nobody waits for does nothing.
   */
  async answerClose({ answer }: RequestOf<'answerClose'>): Promise<void> {
    const closing = this.options.closing;
    if (!closing?.pending) return;
    if (answer === 'close') await this.session.clear();
    closing.answer(answer);
  }

  async batchState(): Promise<BatchState> {
    return this.batch.state();
  }

  async batchAddFiles(): Promise<BatchState> {
    const paths = await (this.options.dialogs.openImages?.() ?? Promise.reject(new UserError('this window cannot choose several files')));
    if (paths?.length) await this.batch.addFiles(paths);
    return this.batch.state();
  }

  async batchAddFolder(): Promise<BatchState> {
    const folder = await (this.options.dialogs.chooseFolder?.('photos') ?? Promise.reject(new UserError('this window cannot choose a folder')));
    if (folder) await this.batch.addFolder(folder);
    return this.batch.state();
  }

  async batchChooseOutput(): Promise<BatchState> {
    const folder = await (this.options.dialogs.chooseFolder?.('output') ?? Promise.reject(new UserError('this window cannot choose a folder')));
    if (folder) this.batch.setOutput(folder);
    return this.batch.state();
  }

  async batchRemove({ index }: RequestOf<'batchRemove'>): Promise<BatchState> {
    this.batch.remove(index);
    return this.batch.state();
  }

  async batchClear(): Promise<BatchState> {
    this.batch.clear();
    return this.batch.state();
  }

  async batchStart(req: RequestOf<'batchStart'>): Promise<BatchState> {
    await this.batch.start(req);
    return this.batch.state();
  }

  async batchPause({ paused }: RequestOf<'batchPause'>): Promise<BatchState> {
    this.batch.pause(paused);
    return this.batch.state();
  }

  async batchCancel(): Promise<BatchState> {
    this.batch.cancel();
    return this.batch.state();
  }

  /**
   * The page crashed and is being reloaded: it restores the session without asking. A restoration
   * it was following is stopped, since the reloaded page cannot pick it up.
   */
  pageCrashed(): void {
    this.session.markCrashed();
    for (const [jobId, job] of this.jobs) if (!job.done) this.service.cancel(jobId);
  }
}
