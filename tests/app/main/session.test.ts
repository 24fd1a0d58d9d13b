/**
 * The autosaved session, main's side, against the real inference service (tiny test model): what
 * is written (the photo's path and identity, the mask as the page's bytes, the settings, an
 * unexported result as a PNG the service writes), atomically and without leftovers; what is offered
 * and restored, in a new Backend as after a restart (the result back in the service, exportable);
 * a photo gone or changed restores nothing; a pasted photo is kept with the session; quitting
 * without saving clears it, and a crash is told to the reloaded page once.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppEvent, JobEvent, SessionResult, TaskForm } from '../../../common/api.js';
import { Backend } from '../../../main/backend.js';
import { CloseGuard } from '../../../main/close-guard.js';
import { SettingsStore } from '../../../main/settings.js';
import { tempDir, until, writeTestPhoto } from '../helpers.js';
import { mockDialogs, serviceBackend, jobEventsIn } from './service-backend.js';

const W = 32;
const H = 24;
const dir = tempDir('session');
const sessionDir = join(dir, 'userData', 'session');
const events: AppEvent[] = [];
const dialogs = mockDialogs();
const task: TaskForm = { spec: { task: 'inpaint', sigmaY: 0.02 }, solver: { solver: 'vml-fp', preset: 'fast', seed: 3 } };
const backends: Backend[] = [];
let settings: SettingsStore;
let photo: string;

function newBackend(closing?: ConstructorParameters<typeof Backend>[0]['closing']): Backend {
  const b = serviceBackend({ dialogs, settings, events, tempDir: join(dir, 'temp'), sessionDir, closing });
  backends.push(b);
  return b;
}

const { jobEvents } = jobEventsIn(events);

/** A feathered stripe: soft levels must come back as they were. */
function stripeMask(): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = 8; y < 12; y++) m.fill(255, y * W, (y + 1) * W);
  m.fill(128, 12 * W, 13 * W);
  return m;
}

async function open(b: Backend, path = photo) {
  dialogs.openImage.mockResolvedValueOnce(path);
  return (await b.openDialog())!;
}

async function inpaint(b: Backend, imageId: string, jobId: string): Promise<SessionResult> {
  await b.run({ jobId, imageId, spec: task.spec, solver: task.solver, mask: stripeMask() });
  await until(() => jobEvents(jobId).some((e) => e.type === 'done' || e.type === 'failed'), 60_000, 'job');
  const done = jobEvents(jobId).at(-1) as Extract<JobEvent, { type: 'done' }>;
  expect(done.type).toBe('done');
  return { jobId, width: done.width, height: done.height, spec: task.spec, stats: done.stats, operator: done.operator, provider: done.provider, precision: done.precision };
}

const index = () => JSON.parse(readFileSync(join(sessionDir, 'session.json'), 'utf8'));

beforeAll(async () => {
  photo = await writeTestPhoto(join(dir, 'photo.png'), W, H);
  mkdirSync(join(dir, 'temp'));
  settings = new SettingsStore(join(dir, 'settings.json'));
  settings.update({ provider: 'cpu' });
});

afterAll(() => backends.forEach((b) => b.dispose()));

describe('the autosaved session', () => {
  let first: Backend;
  let result: SessionResult;

  it('keeps the photo by path and identity, the mask as the page sent it, the settings and the unexported result as a PNG', async () => {
    first = newBackend();
    const img = await open(first);
    result = await inpaint(first, img.id, 'session0001');
    const mask = stripeMask();
    await first.saveSession({ imageId: img.id, task, mask, result, running: false });

    const saved = index();
    expect(saved.photo).toMatchObject({ path: photo, name: 'photo.png', width: W, height: H, temporary: false, size: readFileSync(photo).length });
    expect(saved.task).toEqual(task);
    // Opaque bytes, exactly the page's levels (main decodes nothing).
    expect(new Uint8Array(readFileSync(join(sessionDir, saved.mask.file)))).toEqual(mask);
    expect(saved.result).toMatchObject({ info: result, exported: false });
    const meta = await sharp(saved.result.file.path).metadata();
    expect([meta.format, meta.width, meta.height, meta.depth]).toEqual(['png', W, H, 'ushort']);
    expect(readdirSync(sessionDir).sort()).toEqual(['session.json', saved.mask.file, saved.result.file.path.split(/[\\/]/).at(-1)].sort());

    // A later save replaces the mask's file; the result, unchanged, is not written again; nothing is left over.
    const next = stripeMask().fill(0, 0, W * 9);
    await first.saveSession({ imageId: img.id, task, mask: next, result, running: true });
    const again = index();
    expect(again.mask.file).not.toBe(saved.mask.file);
    expect(again.result.file).toEqual(saved.result.file);
    expect(readdirSync(sessionDir)).toHaveLength(3);
    expect(new Uint8Array(readFileSync(join(sessionDir, again.mask.file)))).toEqual(next);
    await first.saveSession({ imageId: img.id, task, mask, result, running: false });

    expect(await first.getSession()).toEqual({
      crashed: false,
      session: { name: 'photo.png', savedAt: expect.any(Number), mask: true, result: true, running: false },
    });
  });

  it('refuses a mask that is not the photo’s size, and a photo that is not open', async () => {
    const img = await open(first);
    await expect(first.saveSession({ imageId: img.id, task, mask: new Uint8Array(W * H - 1), running: false })).rejects.toThrow(/does not match the image size/);
    await expect(first.saveSession({ imageId: 'nosuchimage00000', task, running: false })).rejects.toThrow(/no longer open/);
    // The session saved before is untouched.
    expect(index().mask.bytes).toBe(W * H);
  });

  it('restores the photo, the mask, the settings and the result in a new start; the result exports', async () => {
    const b = newBackend();
    const restored = await b.restoreSession();
    expect(restored.image).toMatchObject({ name: 'photo.png', width: W, height: H });
    expect(JSON.stringify({ ...restored, mask: undefined, result: undefined })).not.toContain(dir); // no paths to the page
    expect(restored.task).toEqual(task);
    expect(restored.mask).toEqual(stripeMask());
    expect(restored.result).toMatchObject({ ...result, saved: false });
    expect(restored.result!.image).toMatchObject({ width: W, height: H });
    expect(restored.result!.image.data.length).toBe(W * H * 4);
    expect(restored.notes).toEqual([]);
    // The result is the service's again: it exports, and the photo can be run on.
    const out = join(dir, 'restored-export.png');
    dialogs.saveImage.mockResolvedValueOnce(out);
    expect(await b.exportResult({ jobId: result.jobId, format: 'png', quality: 95 })).toEqual({ path: out });
    expect((await sharp(out).metadata()).width).toBe(W);
    // Exported: the session refers to the exported file instead of keeping a copy.
    await b.saveSession({ imageId: restored.image.id, task, mask: restored.mask, result, running: false });
    expect(index().result).toMatchObject({ exported: true, file: { path: out } });
    expect((await b.getSession()).session).toMatchObject({ mask: true, result: false });
    expect(readdirSync(sessionDir)).toHaveLength(2);
  });

  it('restores nothing when the photo has changed or is gone, and says which', async () => {
    const b = newBackend();
    const original = readFileSync(photo);
    const later = new Date(Date.now() + 5000);
    utimesSync(photo, later, later);
    try {
      const offer = (await b.getSession()).session!;
      expect(offer.problem).toBe('photo.png has been changed since (its size or modification time is not the same)');
      await expect(b.restoreSession()).rejects.toThrow(/photo.png has been changed since/);
      rmSync(photo);
      expect((await b.getSession()).session!.problem).toBe(`photo.png is no longer at ${photo}`);
      await expect(b.restoreSession()).rejects.toThrow(/is no longer at/);
    } finally {
      writeFileSync(photo, original);
    }
  });

  it('keeps a pasted photo with the session (the temporary folder goes when the app quits)', async () => {
    const b = newBackend();
    const img = await b.openBytes({ name: 'pasted.png', bytes: new Uint8Array(readFileSync(photo)) });
    await b.saveSession({ imageId: img.id, task, mask: stripeMask(), running: false });
    const saved = index();
    expect(saved.photo).toMatchObject({ name: 'pasted.png', temporary: true });
    expect(saved.photo.path.startsWith(sessionDir)).toBe(true);
    // As after the app quit: its temporary folder is gone (the next start makes a new one).
    rmSync(join(dir, 'temp'), { recursive: true, force: true });
    mkdirSync(join(dir, 'temp'));
    const restored = await newBackend().restoreSession();
    expect(restored.image.name).toBe('pasted.png');
    expect(restored.mask).toEqual(stripeMask());
  });

  it('tells the page reloaded after a crash, once, and stops the job it was following', async () => {
    const b = newBackend();
    const img = await open(b);
    await b.run({ jobId: 'session0002', imageId: img.id, spec: task.spec, solver: { ...task.solver, steps: 2000 }, mask: stripeMask() });
    await until(() => jobEvents('session0002').some((e) => e.type === 'progress'), 60_000, 'progress');
    b.pageCrashed();
    await until(() => jobEvents('session0002').some((e) => e.type === 'cancelled'), 30_000, 'cancelled');
    expect((await b.getSession()).crashed).toBe(true);
    expect((await b.getSession()).crashed).toBe(false);
  });

  it('clears the session when the person quits without saving, not on an answer nobody waits for', async () => {
    const close = vi.fn();
    const guard = new CloseGuard({ ask: vi.fn(), close, unanswered: async () => false });
    const b = newBackend(guard);
    const img = await open(b);
    await b.saveSession({ imageId: img.id, task, mask: stripeMask(), running: false });
    await b.answerClose({ answer: 'close' });
    expect(close).not.toHaveBeenCalled();
    expect(readdirSync(sessionDir)).toContain('session.json');
    guard.onClose({ preventDefault: vi.fn() });
    await b.answerClose({ answer: 'asking' });
    await b.answerClose({ answer: 'close' });
    expect(close).toHaveBeenCalledTimes(1);
    expect(() => readdirSync(sessionDir)).toThrow(/ENOENT/);
    expect(await b.getSession()).toEqual({ crashed: false, session: null });
  });
});
