/**
 * The batch queue of the app: photos added by file or by folder, restored one after another with
 * the same task settings into an output folder, with the rules of `vmlmap batch` (cli/batch.ts):
 * each photo goes to OUTPUT/NAME<suffix>.EXT, the photos' own folder needs a suffix so that no
 * original is ever overwritten, no two photos may land on one name, a photo whose output is
 * already there is skipped (so a batch run again after an interruption or a restart finishes the
 * rest), and one that fails does not stop the others. It runs in main, which never touches
 * pixels: the service reads, restores and writes each photo (restore-file, service/restore-file.ts),
 * queued with the single-photo jobs. Pause lets the photo being restored finish, then waits;
 * Cancel stops the running photo between steps, as the single-photo Cancel does.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type BatchFile, type BatchState, DEFAULT_SENSITIVITY, MAX_PIXELS, type ProviderChoice, type RequestOf } from '../common/api.js';
import { listPhotoFolder, OUTPUT_EXTENSION } from '../engine/photo/photo-folder.js';
import { checkRegularFile, fsReason } from '../engine/photo/regular-file.js';
import { UserError } from '../engine/types.js';
import type { FileJobEvent, ServiceClient } from './service-client.js';

/** Progress reaches the page at most this often (the end of each photo always does). */
const PROGRESS_EVERY_MS = 100;

export interface BatchOptions {
  service: ServiceClient;
  emit: (state: BatchState) => void;
  /** The model a job would use now, or why none can be. */
  model: () => { dir: string; provider: ProviderChoice; problem?: string };
}

interface Entry extends BatchFile {
  path: string;
  output?: string;
}

const realOrResolved = (path: string): Promise<string> => realpath(path).catch(() => resolve(path));

export class BatchQueue {
  private entries: Entry[] = [];
  private outDir: string | null = null;
  private phase: BatchState['phase'] = 'idle';
  private paused = false;
  private cancelling = false;
  private current: BatchState['current'];
  private task: BatchState['task'];
  private jobId: string | undefined;
  private wake: (() => void) | undefined;
  private lastProgress = 0;
  private seq = 0;
  /** The running batch, for tests and for the app to wait on. */
  running: Promise<void> | undefined;

  constructor(private readonly o: BatchOptions) {}

  state(): BatchState {
    return {
      seq: this.seq,
      files: this.entries.map(({ name, status, seconds, reason }) => ({ name, status, ...(seconds !== undefined ? { seconds } : {}), ...(reason ? { reason } : {}) })),
      output: this.outDir === null ? null : basename(this.outDir) || this.outDir,
      phase: this.phase,
      paused: this.paused,
      cancelling: this.cancelling,
      ...(this.current ? { current: { ...this.current } } : {}),
      ...(this.task ? { task: this.task } : {}),
    };
  }

  private changed(): void {
    this.seq++;
    this.o.emit(this.state());
  }

  private editable(): void {
    if (this.phase === 'running') throw new UserError('the batch is running: wait for it to end, or cancel it, before changing its photos');
    if (this.phase !== 'idle') {
      // A new batch begins with the photos of the last one, back to pending.
      this.phase = 'idle';
      for (const e of this.entries) Object.assign(e, { status: 'pending', seconds: undefined, reason: undefined });
    }
  }

  /** Photos chosen as files: each a regular file (as `vmlmap batch` requires); one already queued is not added twice. */
  async addFiles(paths: readonly string[]): Promise<void> {
    this.editable();
    for (const path of paths) await checkRegularFile(path, 'image');
    this.add(paths);
  }

  /** The photos of a folder: image files by extension, not hidden, regular (links followed), in name order; subfolders are not read. */
  async addFolder(folder: string): Promise<void> {
    this.editable();
    this.add(await listPhotoFolder(folder));
  }

  private add(paths: readonly string[]): void {
    const known = new Set(this.entries.map((e) => resolve(e.path)));
    for (const path of paths) {
      if (known.has(resolve(path))) continue;
      known.add(resolve(path));
      this.entries.push({ path, name: basename(path), status: 'pending' });
    }
    this.changed();
  }

  setOutput(dir: string): void {
    this.editable();
    this.outDir = dir;
    this.changed();
  }

  remove(index: number): void {
    this.editable();
    if (index >= this.entries.length) throw new UserError('that photo is no longer in the batch');
    this.entries.splice(index, 1);
    this.changed();
  }

  clear(): void {
    this.editable();
    this.entries = [];
    this.changed();
  }

  /**
   * Checks the batch as `vmlmap batch` checks its command line (nothing is done when one rule is
   * broken), then runs it in the background; its progress and end arrive as 'batch' events.
   */
  async start(req: RequestOf<'batchStart'>): Promise<void> {
    if (this.phase === 'running') throw new UserError('the batch is already running');
    if (req.spec.task === 'inpaint')
      throw new UserError('Inpainting needs a mask painted on each photo, so it cannot run as a batch: choose another task (Old photo detects the damage on each photo)');
    this.editable();
    if (!this.entries.length) throw new UserError('add photos to the batch first');
    const outDir = this.outDir;
    if (!outDir) throw new UserError('choose the folder to write the restored photos into');
    const model = this.o.model();
    if (model.problem) throw new UserError(model.problem);
    const { suffix, format } = req;
    const outReal = await realOrResolved(outDir);
    const inputsReal = await Promise.all(this.entries.map((e) => realOrResolved(e.path)));
    const byOutput = new Map<string, string>();
    for (const e of this.entries) {
      const sameFolder = (await realOrResolved(dirname(e.path))) === outReal;
      if (sameFolder && !suffix)
        throw new UserError(`the output folder ${outDir} is the folder of ${e.name}: give a suffix (e.g. -restored) or choose another folder, so that no original can be overwritten`);
      const stem = basename(e.path, extname(e.path));
      e.output = join(outDir, `${stem}${suffix}${format === 'same' ? extname(e.path) : OUTPUT_EXTENSION[format]}`);
      // In the photos' own folder, an earlier batch's outputs carry the suffix: not photos to restore.
      if (sameFolder && stem.endsWith(suffix)) {
        Object.assign(e, { status: 'skipped', reason: `named with the suffix ${suffix}: taken for the output of an earlier batch` });
        continue;
      }
      const other = byOutput.get(resolve(e.output));
      if (other) throw new UserError(`${other} and ${e.name} would both be written to ${basename(e.output)}; choose the format "same", or restore them separately`);
      byOutput.set(resolve(e.output), e.name);
      const outputReal = await realOrResolved(e.output);
      if (inputsReal.includes(outputReal)) throw new UserError(`the output ${basename(e.output)} of ${e.name} is one of the photos; choose another suffix or folder`);
    }
    const outStat = await stat(outDir).catch(() => null);
    if (outStat && !outStat.isDirectory()) throw new UserError(`${outDir} is not a folder`);
    if (!outStat) await mkdir(outDir, { recursive: true }).catch((err: unknown) => Promise.reject(new UserError(`cannot create the folder ${outDir}: ${fsReason(err)}`)));

    this.phase = 'running';
    this.paused = false;
    this.cancelling = false;
    this.task = req.spec.task;
    this.changed();
    this.running = this.loop(req, model).catch((e: unknown) => {
      console.error('[main] the batch stopped:', e);
      this.phase = 'cancelled';
      this.current = undefined;
      this.changed();
    });
  }

  pause(paused: boolean): void {
    if (this.phase !== 'running') return;
    this.paused = paused;
    if (!paused) this.wake?.();
    this.changed();
  }

  cancel(): void {
    if (this.phase !== 'running' || this.cancelling) return;
    this.cancelling = true;
    if (this.jobId) this.o.service.cancel(this.jobId);
    this.wake?.();
    this.changed();
  }

  private async loop(req: RequestOf<'batchStart'>, model: { dir: string; provider: ProviderChoice }): Promise<void> {
    for (const [index, e] of this.entries.entries()) {
      if (e.status !== 'pending') continue;
      while (this.paused && !this.cancelling) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      if (this.cancelling) break;
      e.status = 'running';
      this.current = { index, step: 0, total: 0, elapsedMs: 0, etaMs: 0 };
      this.changed();
      const t0 = performance.now();
      const end = await this.restore(e, req, model);
      this.jobId = undefined;
      this.current = undefined;
      const seconds = (end.type === 'file-done' ? end.wallMs : performance.now() - t0) / 1000;
      if (end.type === 'file-done' && end.status === 'written') Object.assign(e, { status: 'done', seconds });
      else if (end.type === 'file-done') Object.assign(e, { status: 'skipped', reason: `${basename(e.output!)} is already there` });
      // The page is told names, not paths.
      else if (end.type === 'failed') Object.assign(e, { status: 'failed', seconds, reason: end.message.replaceAll(e.path, e.name).replaceAll(e.output!, basename(e.output!)) });
      else e.status = 'cancelled';
      this.changed();
    }
    for (const e of this.entries) if (e.status === 'pending') e.status = 'cancelled';
    this.phase = this.cancelling ? 'cancelled' : 'finished';
    this.paused = false;
    this.cancelling = false;
    this.changed();
  }

  /** One photo through the service; resolves with how it ended. */
  private restore(e: Entry, req: RequestOf<'batchStart'>, model: { dir: string; provider: ProviderChoice }): Promise<Exclude<FileJobEvent, { type: 'started' | 'progress' }>> {
    const jobId = `b${randomBytes(8).toString('hex')}`;
    this.jobId = jobId;
    return new Promise((done) => {
      this.o.service.enqueueFile(
        {
          jobId,
          input: e.path,
          output: e.output!,
          spec: req.spec,
          solver: req.solver,
          model: { dir: model.dir, provider: model.provider },
          maxPixels: MAX_PIXELS,
          sensitivity: DEFAULT_SENSITIVITY,
          keepGps: !req.stripGps,
          protect: [e.path],
        },
        (event) => {
          if (event.type === 'progress') {
            this.current = { index: this.current?.index ?? 0, step: event.step, total: event.total, elapsedMs: event.elapsedMs, etaMs: event.etaMs };
            const now = performance.now();
            if (now - this.lastProgress >= PROGRESS_EVERY_MS) {
              this.lastProgress = now;
              this.changed();
            }
          } else if (event.type !== 'started') done(event);
        },
      );
    });
  }
}
