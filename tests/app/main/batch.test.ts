/**
 * The app's batch queue (main/batch.ts) against the real inference service (forked under Node with
 * the tiny test model): three photos, one of them damaged, restored into a folder (two written with
 * the photo's metadata, one failed with its reason), a second run skips the two, the CLI's rules
 * refuse inpainting and the photos' own folder without a suffix, Cancel stops the running photo
 * between steps and the rest, and Pause lets the running photo finish and waits for Resume.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, BatchState, RequestOf } from '../../../common/api.js';
import { Backend } from '../../../main/backend.js';
import { tempDir, until, writeTestPhoto } from '../helpers.js';
import { mockDialogs, cpuSettings, serviceBackend } from './service-backend.js';

const dir = tempDir('batch');
const photos = join(dir, 'photos');
const events: AppEvent[] = [];
const dialogs = mockDialogs();
let backend: Backend;

const denoise = (over: Partial<RequestOf<'batchStart'>> = {}): RequestOf<'batchStart'> => ({
  spec: { task: 'denoise', sigmaY: 0.05 },
  solver: { solver: 'vml-fp', preset: 'fast', seed: 0 },
  suffix: '',
  format: 'same',
  stripGps: false,
  ...over,
});
// A job of many steps, to act on mid-photo (denoising is one network call at every preset).
const long = (): RequestOf<'batchStart'> => denoise({ spec: { task: 'deblur', kernel: { type: 'gaussian', std: 1 }, sigmaY: 0.01 }, solver: { solver: 'vml-fp', preset: 'best', seed: 0 } });
const latest = (): BatchState => events.flatMap((e) => (e.kind === 'batch' ? [e.batch] : [])).at(-1)!;
const ended = (): boolean => ['finished', 'cancelled'].includes(latest()?.phase ?? '');
const statuses = (s: BatchState) => s.files.map((f) => f.status);

async function chooseOutput(folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  dialogs.chooseFolder.mockResolvedValueOnce(folder);
  expect((await backend.batchChooseOutput()).output).toBe(folder.split('/').at(-1));
}

async function startAndWait(req: RequestOf<'batchStart'>): Promise<BatchState> {
  await backend.batchStart(req);
  await until(ended, 120_000, 'the batch to end');
  await backend.batch.running;
  return latest();
}

beforeAll(async () => {
  mkdirSync(photos);
  await writeTestPhoto(join(photos, 'a.png'), 32, 24);
  // A JPEG with EXIF: the restored copy keeps its date and camera, as the CLI's restore does.
  await sharp(await writeTestPhoto(join(dir, 'b-source.png'), 40, 32))
    .jpeg()
    .withExif({ IFD0: { Make: 'Batchcam', Model: 'B1' } })
    .toFile(join(photos, 'b.jpg'));
  writeFileSync(join(photos, 'c.png'), Buffer.from('this is not a PNG at all, only its name is'));
  backend = serviceBackend({ dialogs, settings: cpuSettings(dir), events, tempDir: dir });
});

afterAll(() => backend.dispose());

describe('the batch queue with the real service', () => {
  it('restores 3 photos, one damaged: two written, one failed with its reason', async () => {
    dialogs.openImages.mockResolvedValueOnce([join(photos, 'a.png'), join(photos, 'b.jpg'), join(photos, 'c.png')]);
    const added = await backend.batchAddFiles();
    expect(added.files.map((f) => f.name)).toEqual(['a.png', 'b.jpg', 'c.png']);
    expect(JSON.stringify(added)).not.toContain(dir); // the page sees names, never paths
    const out = join(dir, 'out');
    await chooseOutput(out);
    const end = await startAndWait(denoise({ format: 'same' }));
    expect(end.phase).toBe('finished');
    expect(statuses(end)).toEqual(['done', 'done', 'failed']);
    expect(end.files[2]!.reason).toMatch(/c\.png/);
    expect(end.files[0]!.seconds).toBeGreaterThan(0);
    expect(readdirSync(out).sort()).toEqual(['a.png', 'b.jpg']);
    expect(await sharp(join(out, 'a.png')).metadata()).toMatchObject({ width: 32, height: 24, format: 'png' });
    const b = await sharp(join(out, 'b.jpg')).metadata();
    expect(b).toMatchObject({ width: 40, height: 32, format: 'jpeg' });
    expect(b.exif?.toString('latin1')).toContain('Batchcam');
    // Progress came per photo, with the step count.
    expect(events.some((e) => e.kind === 'batch' && e.batch.current && e.batch.current.total > 0 && e.batch.current.step > 0)).toBe(true);
  });

  it('a second run skips the two written and fails the damaged one again', async () => {
    const before = readdirSync(join(dir, 'out')).map((n) => n);
    const end = await startAndWait(denoise());
    expect(statuses(end)).toEqual(['skipped', 'skipped', 'failed']);
    expect(end.files[0]!.reason).toMatch(/already there/);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(before.sort());
  });

  it('refuses inpainting, and the photos own folder without a suffix', async () => {
    await expect(backend.batchStart(denoise({ spec: { task: 'inpaint', sigmaY: 0.01 } }))).rejects.toThrow(/Inpainting needs a mask painted on each photo/);
    await chooseOutput(photos);
    await expect(backend.batchStart(denoise({ suffix: '' }))).rejects.toThrow(/is the folder of a\.png: give a suffix/);
    expect(latest().phase).toBe('idle');
    expect(readdirSync(photos).sort()).toEqual(['a.png', 'b.jpg', 'c.png']);
    // With a suffix, into the photos' folder, as PNG; the originals stay as they were.
    const end = await startAndWait(denoise({ suffix: '-restored', format: 'png' }));
    expect(statuses(end)).toEqual(['done', 'done', 'failed']);
    expect(readdirSync(photos).sort()).toEqual(['a-restored.png', 'a.png', 'b-restored.png', 'b.jpg', 'c.png']);
  });

  it('Cancel stops the running photo between steps, and the rest', async () => {
    await backend.batchClear();
    const big = join(dir, 'big');
    mkdirSync(big);
    for (const n of ['p1', 'p2', 'p3']) await writeTestPhoto(join(big, `${n}.png`), 128, 96);
    dialogs.chooseFolder.mockResolvedValueOnce(big);
    expect((await backend.batchAddFolder()).files.map((f) => f.name)).toEqual(['p1.png', 'p2.png', 'p3.png']);
    const out = join(dir, 'cancelled');
    await chooseOutput(out);
    await backend.batchStart(long());
    await until(() => (latest().current?.step ?? 0) > 0, 60_000, 'the first step');
    const state = await backend.batchCancel();
    expect(state.cancelling).toBe(true);
    await until(ended, 60_000, 'the batch to stop');
    const end = latest();
    expect(end.phase).toBe('cancelled');
    expect(statuses(end)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(readdirSync(out)).toEqual([]); // nothing partial, nothing after
  });

  it('Pause lets the running photo finish, then waits for Resume', async () => {
    const out = join(dir, 'paused');
    await chooseOutput(out);
    await backend.batchStart(long());
    await until(() => latest().files[0]!.status === 'running', 60_000, 'the first photo');
    expect((await backend.batchPause({ paused: true })).paused).toBe(true);
    await until(() => latest().files[0]!.status === 'done', 120_000, 'the first photo to finish');
    await new Promise((r) => setTimeout(r, 1500));
    expect(statuses(latest())).toEqual(['done', 'pending', 'pending']);
    expect(latest().current).toBeUndefined();
    expect(readdirSync(out)).toEqual(['p1.png']);
    await backend.batchPause({ paused: false });
    await until(ended, 120_000, 'the batch to end');
    expect(latest().phase).toBe('finished');
    expect(statuses(latest())).toEqual(['done', 'done', 'done']);
    expect(readdirSync(out).sort()).toEqual(['p1.png', 'p2.png', 'p3.png']);
    expect(existsSync(join(out, 'p2.png'))).toBe(true);
  });
});
