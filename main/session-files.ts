/**
 * The autosaved session: what a person would lose if the app stopped now (the photo being restored,
 * the painted mask, the task's settings, the latest result), kept in a folder of the app's own
 * user-data folder, to be offered back when the app starts and restored without asking after the
 * window's page crashed. Main never decodes pixels here: the mask is the page's levels, written as
 * opaque bytes once their length is checked against the photo's size, and an unexported result is
 * written as a PNG by the inference service (the `write` callback). Every file is written
 * atomically under a new name and the index (session.json) last, so a crash at any point leaves the
 * previous session or the new one, never the index of one with the files of the other.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MAX_PIXELS, type SessionOffer, type SessionResult, sessionResultSchema, type TaskForm, taskFormSchema } from '../common/api.js';
import * as s from '../common/schema.js';
import { writeFileAtomic } from '../engine/photo/atomic.js';
import type { Registered } from './images.js';

const INDEX = 'session.json';
/** A larger index is not one this code wrote. */
const MAX_INDEX_BYTES = 1 << 20;

const pathSchema = s.string({ min: 1, max: 4096 });
const dim = s.int(1, 100_000);
/** A file as it was when the session was saved: a different size or time is a different file. */
const fileShape = { path: pathSchema, size: s.int(0, 2 ** 53), mtimeMs: s.number({ min: 0 }) };
const fileSchema = s.object(fileShape);
export type FileStamp = s.Infer<typeof fileSchema>;

const storedSchema = s.object({
  version: s.literal(1),
  savedAt: s.number({ min: 0 }),
  photo: s.object({
    ...fileShape,
    name: s.string({ min: 1, max: 1024 }),
    width: dim,
    height: dim,
    /** Pasted or a result used as input: `path` is a copy in the session folder. */
    temporary: s.boolean(),
    derived: s.optional(
      s.object({
        origin: s.object({ path: pathSchema, name: s.string({ min: 1, max: 1024 }), temporary: s.boolean(), bitDepth: s.oneOf([8, 16] as const) }),
        pass: s.int(1, 100_000),
      }),
    ),
  }),
  task: taskFormSchema,
  /** The painted levels, one byte per pixel, in a file of the session folder. */
  mask: s.optional(s.object({ file: s.string({ pattern: /^mask-[0-9a-f]{16}\.bin$/ }), bytes: s.int(1, MAX_PIXELS) })),
  /** The latest result: a PNG in the session folder, or the file it was exported to. */
  result: s.optional(s.object({ info: sessionResultSchema, file: fileSchema, exported: s.boolean() })),
  running: s.boolean(),
});
export type StoredSession = s.Infer<typeof storedSchema>;

export interface SaveInput {
  photo: Registered;
  task: TaskForm;
  /** Levels, width x height of the photo; absent when nothing is painted. */
  mask?: Uint8Array;
  running: boolean;
  /** `exported`: where it was exported to (referenced, not copied); otherwise `write` writes it as a PNG at a path. */
  result?: { info: SessionResult; exported?: string; write?: (path: string) => Promise<unknown> };
}

const hex = (): string => randomBytes(8).toString('hex');
const safe = (name: string): string =>
  basename(name)
    .replace(/[^\w.-]+/g, '_')
    .slice(-80);

/** The file at `path` now, or why it cannot be the one saved. */
async function stampOf(path: string): Promise<FileStamp> {
  const st = await stat(path);
  if (!st.isFile()) throw new Error('not a file');
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

export class SessionFiles {
  /** Set when the page was reloaded after a crash; the next getSession reads and clears it. */
  private crashed = false;
  /** Writes and removals one after the other, in the order asked. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The result already written to the folder (a result does not change once made). */
  private written: { jobId: string; file: FileStamp } | undefined;
  /** The copy of a temporary photo in the folder, by the photo's token. */
  private copied: { id: string; path: string } | undefined;

  constructor(readonly dir: string) {}

  markCrashed(): void {
    this.crashed = true;
  }

  takeCrashed(): boolean {
    const c = this.crashed;
    this.crashed = false;
    return c;
  }

  /** Replaces the saved session with this one. */
  save(input: SaveInput): Promise<void> {
    return this.serial(() => this.write(input));
  }

  /** Nothing is at stake any more (or the person chose to discard it): the folder goes. */
  clear(): Promise<void> {
    return this.serial(async () => {
      this.written = undefined;
      this.copied = undefined;
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  /** A result restored from the folder is the one written there: not written again. */
  adopt(jobId: string, file: FileStamp): void {
    if (dirname(file.path) === this.dir) this.written = { jobId, file };
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private inside(path: string): boolean {
    return dirname(path) === this.dir;
  }

  private async write(input: SaveInput): Promise<void> {
    const { photo } = input;
    if (input.mask && input.mask.length !== photo.width * photo.height) throw new Error(`the mask has ${input.mask.length} levels, the photo ${photo.width}x${photo.height} pixels`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const keep = new Set([INDEX]);

    // A pasted photo lives in the app's temporary folder, which goes when the app quits: a copy of
    // its bytes stays with the session.
    let photoPath = photo.path;
    if (photo.temporary && !this.inside(photoPath)) {
      if (this.copied?.id !== photo.id) {
        const path = join(this.dir, `photo-${hex()}-${safe(photo.name)}`);
        await copyFile(photo.path, path);
        this.copied = { id: photo.id, path };
      }
      photoPath = this.copied.path;
    }
    if (this.inside(photoPath)) keep.add(basename(photoPath));
    const photoStamp = await stampOf(photoPath);

    let mask: StoredSession['mask'];
    if (input.mask) {
      const file = `mask-${hex()}.bin`;
      await writeFileAtomic(join(this.dir, file), input.mask);
      keep.add(file);
      mask = { file, bytes: input.mask.length };
    }

    let result: StoredSession['result'];
    const r = input.result;
    if (r?.exported) {
      const file = await stampOf(r.exported).catch(() => undefined);
      if (file) result = { info: r.info, file, exported: true };
    } else if (r?.write) {
      if (this.written?.jobId !== r.info.jobId || !(await stampOf(this.written.file.path).catch(() => undefined))) {
        const path = join(this.dir, `result-${hex()}.png`);
        try {
          await r.write(path);
          this.written = { jobId: r.info.jobId, file: await stampOf(path) };
        } catch (e) {
          // The service no longer has it (it restarted): the rest is saved without it.
          console.warn(`[main] the result was not autosaved: ${(e as Error).message}`);
          this.written = undefined;
        }
      }
      if (this.written?.jobId === r.info.jobId) {
        keep.add(basename(this.written.file.path));
        result = { info: r.info, file: this.written.file, exported: false };
      }
    }

    const stored: StoredSession = {
      version: 1,
      savedAt: Date.now(),
      photo: {
        ...photoStamp,
        name: photo.name,
        width: photo.width,
        height: photo.height,
        temporary: photo.temporary,
        ...(photo.derived ? { derived: photo.derived } : {}),
      },
      task: input.task,
      ...(mask ? { mask } : {}),
      ...(result ? { result } : {}),
      running: input.running,
    };
    await writeFileAtomic(join(this.dir, INDEX), JSON.stringify(stored));
    // The index now names only the files kept; the others (earlier masks and results, a stray
    // temporary file of an interrupted write) go.
    for (const name of await readdir(this.dir)) {
      if (!keep.has(name)) await unlink(join(this.dir, name)).catch(() => undefined);
    }
    if (this.written && !keep.has(basename(this.written.file.path))) this.written = undefined;
  }

  /** The saved session, or null when there is none or its index is damaged (then it is ignored). */
  async read(): Promise<StoredSession | null> {
    await this.chain;
    const path = join(this.dir, INDEX);
    try {
      if ((await stat(path)).size > MAX_INDEX_BYTES) return null;
      const parsed = s.safeParse(storedSchema, JSON.parse(await readFile(path, 'utf8')));
      return parsed.ok ? parsed.value : null;
    } catch {
      return null;
    }
  }

  /**
   * Why the saved photo cannot be restored, one line; undefined when it is still there with the same
   * size and modification time.
   */
  async photoProblem(photo: StoredSession['photo']): Promise<string | undefined> {
    const where = photo.temporary ? 'in the session folder' : `at ${photo.path}`;
    let now: FileStamp;
    try {
      now = await stampOf(photo.path);
    } catch {
      return `${photo.name} is no longer ${where}`;
    }
    if (now.size !== photo.size || now.mtimeMs !== photo.mtimeMs) return `${photo.name} has been changed since (its size or modification time is not the same)`;
    return undefined;
  }

  /** Whether a file is still as it was saved. */
  async unchanged(file: FileStamp): Promise<boolean> {
    const now = await stampOf(file.path).catch(() => undefined);
    return !!now && now.size === file.size && now.mtimeMs === file.mtimeMs;
  }

  /** What the page is offered: the saved session, said in a few words, or null. */
  async offer(): Promise<SessionOffer | null> {
    const stored = await this.read();
    if (!stored) return null;
    const problem = await this.photoProblem(stored.photo);
    return {
      name: stored.photo.name,
      savedAt: stored.savedAt,
      mask: !!stored.mask,
      result: !!stored.result && !stored.result.exported,
      running: stored.running,
      ...(problem ? { problem } : {}),
    };
  }

  /** The saved mask's levels, or undefined when its file is not exactly `pixels` bytes any more. */
  async readMask(mask: NonNullable<StoredSession['mask']>, pixels: number): Promise<Uint8Array | undefined> {
    if (mask.bytes !== pixels) return undefined;
    try {
      const path = join(this.dir, mask.file);
      if ((await stat(path)).size !== pixels) return undefined;
      const bytes = await readFile(path);
      return bytes.length === pixels ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : undefined;
    } catch {
      return undefined;
    }
  }
}
