/**
 * The main process's request handlers against the real inference service (forked under Node with
 * the tiny test model): open, run with progress, cancel, export (never over the original without
 * confirmation), masks in and out and TIFFs shown (decoded by the service, never by main), the
 * device probe, settings on disk, and recovery when the service process is killed in the middle of
 * a job or of a decode.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, JobEvent } from '../../../common/api.js';
import { Backend } from '../../../main/backend.js';
import { imageResponse } from '../../../main/protocol.js';
import { forkService } from '../../../main/service-fork.js';
import { SettingsStore } from '../../../main/settings.js';
import { SERVICE_ENTRY, tempDir, TINY_MODEL, until, writeTestPhoto } from '../helpers.js';
import { mockDialogs, cpuSettings, serviceBackend, jobEventsIn } from './service-backend.js';

const dir = tempDir('backend');
const events: AppEvent[] = [];
const pids: number[] = [];
const dialogs = mockDialogs();
let backend: Backend;
let settings: SettingsStore;
let photo: string;

const { jobEvents, last, finished } = jobEventsIn(events);

beforeAll(async () => {
  photo = await writeTestPhoto(join(dir, 'photo.png'), 32, 24);
  settings = cpuSettings(dir);
  backend = serviceBackend({ dialogs, settings, events, pids, tempDir: dir });
});

afterAll(() => backend.dispose());

async function openPhoto(path = photo) {
  dialogs.openImage.mockResolvedValueOnce(path);
  const img = await backend.openDialog();
  expect(img).not.toBeNull();
  return img!;
}

function stripeMask(w: number, h: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = Math.floor(h / 3); y < Math.floor(h / 2); y++) m.fill(255, y * w, (y + 1) * w);
  return m;
}

describe('backend with the real service', () => {
  it('opens a photo and remembers it', async () => {
    const img = await openPhoto();
    expect(img).toMatchObject({ name: 'photo.png', width: 32, height: 24, hasAlpha: false, bitDepth: 8 });
    expect(img.url).toBe(`app-image://image/${img.id}`);
    expect(JSON.stringify(img)).not.toContain(dir); // the renderer never sees paths
    expect(settings.recentPaths[0]).toBe(photo);
    expect(events.some((e) => e.kind === 'recent')).toBe(true);
    expect((await backend.getState()).model).toMatchObject({ name: 'tiny', hasVjp: true });
  });

  it('inpaints with progress and a live preview, then exports without touching the original', async () => {
    const img = await openPhoto();
    await backend.run({ jobId: 'inpaint0001', imageId: img.id, spec: { task: 'inpaint', sigmaY: 0.01 }, solver: { solver: 'vml-map', preset: 'fast', seed: 1 }, mask: stripeMask(32, 24) });
    await until(finished('inpaint0001'), 60_000, 'job');
    const evs = jobEvents('inpaint0001');
    expect(evs.map((e) => e.type)).toContain('progress');
    const progress = evs.filter((e) => e.type === 'progress') as Extract<JobEvent, { type: 'progress' }>[];
    expect(progress.at(-1)).toMatchObject({ step: progress.at(-1)!.total });
    expect(progress.some((p) => p.preview && p.preview.data instanceof Uint8ClampedArray)).toBe(true);
    const done = evs.at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(done.type).toBe('done');
    // The CPU runs the fp32 weights; the app shows the precision next to the provider.
    expect(evs.find((e) => e.type === 'started')).toMatchObject({ provider: 'cpu', precision: 'fp32' });
    expect(done).toMatchObject({ provider: 'cpu', precision: 'fp32' });
    expect(done.image).toMatchObject({ width: 32, height: 24 });
    expect(done.image.data.length).toBe(32 * 24 * 4);
    // The gradient rule's own statistics cross the validated IPC too.
    expect(done.stats.stationarity).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(done.stats.shortenedSteps)).toBe(true);

    const before = readFileSync(photo);
    const out = join(dir, 'restored');
    dialogs.saveImage.mockResolvedValueOnce(out);
    expect(await backend.exportResult({ jobId: 'inpaint0001', format: 'png', quality: 95 })).toEqual({ path: `${out}.png` });
    expect(dialogs.saveImage).toHaveBeenLastCalledWith(join(dir, 'photo-restored.png'), 'png');
    const meta = await sharp(`${out}.png`).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 32, 24]);

    // Choosing the original asks first; declining writes nothing.
    dialogs.saveImage.mockResolvedValueOnce(photo);
    dialogs.confirmReplaceOriginal.mockResolvedValueOnce(false);
    expect(await backend.exportResult({ jobId: 'inpaint0001', format: 'png', quality: 95 })).toBeNull();
    expect(readFileSync(photo).equals(before)).toBe(true);
    // Confirming replaces it (atomically, through the engine's writer).
    dialogs.saveImage.mockResolvedValueOnce(photo);
    dialogs.confirmReplaceOriginal.mockResolvedValueOnce(true);
    expect(await backend.exportResult({ jobId: 'inpaint0001', format: 'png', quality: 95 })).toEqual({ path: photo });
    expect(readFileSync(photo).equals(before)).toBe(false);
    writeFileSync(photo, before);

    dialogs.saveImage.mockResolvedValueOnce(join(dir, 'restored.webp'));
    await backend.exportResult({ jobId: 'inpaint0001', format: 'webp', quality: 90 });
    expect((await sharp(join(dir, 'restored.webp')).metadata()).format).toBe('webp');
  });

  it('super-resolves to the larger size', async () => {
    const img = await openPhoto();
    await backend.run({ jobId: 'superres001', imageId: img.id, spec: { task: 'sr', sigmaY: 0.01, scale: 2, srKernel: 'bicubic' }, solver: { solver: 'vml-map', preset: 'fast', seed: 1 } });
    await until(finished('superres001'), 60_000, 'job');
    expect(last('superres001')).toMatchObject({ type: 'done', width: 64, height: 48, image: { width: 64, height: 48 } });
  });

  it('keeps every run as a file: an earlier run is exported, shown and used as input from it, until it is discarded', async () => {
    const img = await openPhoto();
    const ids = ['history0001', 'history0002', 'history0003'];
    for (const [i, jobId] of ids.entries()) {
      await backend.run({ jobId, imageId: img.id, spec: { task: 'denoise', sigmaY: 0.02 }, solver: { solver: 'vml-fp', preset: 'fast', seed: i } });
      await until(finished(jobId), 60_000, 'job');
      expect(last(jobId)!.type).toBe('done');
    }
    const file = join(dir, 'runs', 'history0001.png');
    // The service keeps the last two results in memory; the first run is exported from its file.
    dialogs.saveImage.mockResolvedValueOnce(join(dir, 'first-run.png'));
    expect(await backend.exportResult({ jobId: 'history0001', format: 'png', quality: 95 })).toEqual({ path: join(dir, 'first-run.png') });
    expect(existsSync(file)).toBe(true);
    const exported = await sharp(join(dir, 'first-run.png')).metadata();
    expect([exported.width, exported.height, exported.depth]).toEqual([32, 24, 'uchar']);
    expect((await sharp(file).metadata()).depth).toBe('ushort'); // kept at full precision
    // Its display copy, read back by the service, is the run's own result.
    const shown = await backend.runImage({ jobId: 'history0001' });
    const done = last('history0001') as Extract<JobEvent, { type: 'done' }>;
    expect([shown.width, shown.height]).toEqual([32, 24]);
    expect(Array.from(shown.data)).toEqual(Array.from(done.image.data));
    // Used as input: a new photo, the original untouched.
    const next = await backend.useResult({ jobId: 'history0002' });
    expect(next).toMatchObject({ name: 'photo-restored.png', width: 32, height: 24 });
    // Discarded: the file goes, and the run can no longer be shown.
    await backend.discardRun({ jobId: 'history0001' });
    expect(existsSync(file)).toBe(false);
    await expect(backend.runImage({ jobId: 'history0001' })).rejects.toThrow(/no longer available/);
    await expect(backend.useResult({ jobId: 'history0001' })).rejects.toThrow(/no finished result/);
  });

  it('refuses runs it cannot do, with a message', async () => {
    const img = await openPhoto();
    const base = { imageId: img.id, solver: { solver: 'vml-map' as const, preset: 'fast' as const, seed: 0 } };
    await expect(backend.run({ ...base, jobId: 'nomask00001', spec: { task: 'inpaint', sigmaY: 0.01 } })).rejects.toThrow(/needs a mask/);
    await expect(backend.run({ ...base, jobId: 'empty000001', spec: { task: 'inpaint', sigmaY: 0.01 }, mask: new Uint8Array(32 * 24) })).rejects.toThrow(/empty/);
    await expect(backend.run({ ...base, jobId: 'wrongsize01', spec: { task: 'inpaint', sigmaY: 0.01 }, mask: new Uint8Array(10).fill(1) })).rejects.toThrow(/does not match/);
    await expect(backend.run({ ...base, imageId: 'unknownimage0000', jobId: 'noimage0001', spec: { task: 'denoise', sigmaY: 0.01 } })).rejects.toThrow(/no longer open/);
    await expect(backend.exportResult({ jobId: 'nomask00001', format: 'png', quality: 90 })).rejects.toThrow(/no finished result/);
  });

  it('cancels a running job', async () => {
    const img = await openPhoto();
    await backend.run({ jobId: 'cancel00001', imageId: img.id, spec: { task: 'denoise', sigmaY: 0.05 }, solver: { solver: 'vml-map', preset: 'best', steps: 2000, seed: 0 } });
    await until(() => jobEvents('cancel00001').some((e) => e.type === 'progress'), 60_000, 'progress');
    await backend.cancel({ jobId: 'cancel00001' });
    await until(finished('cancel00001'), 20_000, 'cancel');
    expect(last('cancel00001')!.type).toBe('cancelled');
  });

  it('fails the job with a message when the service is killed, and restarts it', async () => {
    const img = await openPhoto();
    await backend.run({ jobId: 'crash000001', imageId: img.id, spec: { task: 'denoise', sigmaY: 0.05 }, solver: { solver: 'vml-map', preset: 'best', steps: 2000, seed: 0 } });
    await until(() => jobEvents('crash000001').some((e) => e.type === 'progress'), 60_000, 'progress');
    const victim = pids.at(-1)!;
    process.kill(victim, 'SIGKILL');
    await until(finished('crash000001'), 20_000, 'failure');
    const failed = last('crash000001') as Extract<JobEvent, { type: 'failed' }>;
    expect(failed.type).toBe('failed');
    expect(failed.message).toMatch(/stopped \(signal SIGKILL\) before the job finished/);
    expect(events.some((e) => e.kind === 'service' && e.state === 'restarting')).toBe(true);
    // The next job runs on a fresh process.
    await backend.run({ jobId: 'after000001', imageId: img.id, spec: { task: 'denoise', sigmaY: 0.02 }, solver: { solver: 'vml-map', preset: 'fast', seed: 0 } });
    await until(finished('after000001'), 60_000, 'job after restart');
    expect(last('after000001')!.type).toBe('done');
    expect(pids.at(-1)).not.toBe(victim);
    // A result from before the crash is gone with the process, but its run was kept as a file (the
    // history): exported from there. Once discarded, there is nothing to export.
    dialogs.saveImage.mockResolvedValueOnce(join(dir, 'kept.png'));
    expect(await backend.exportResult({ jobId: 'superres001', format: 'png', quality: 90 })).toEqual({ path: join(dir, 'kept.png') });
    expect((await sharp(join(dir, 'kept.png')).metadata()).width).toBe(64);
    await backend.discardRun({ jobId: 'superres001' });
    await expect(backend.exportResult({ jobId: 'superres001', format: 'png', quality: 90 })).rejects.toThrow(/no finished result/);
  });

  it('probes the devices with real sessions', async () => {
    const r = await backend.probeDevices();
    const cpu = r.devices.find((d) => d.provider === 'cpu')!;
    expect(cpu.ok).toBe(true);
    expect(cpu.ms).toBeGreaterThan(0);
    expect(cpu.precision).toBe('fp32');
    for (const d of r.devices.filter((d) => !d.ok)) expect(d.reason).toBeTruthy();
    if (process.platform === 'linux') expect(r.devices.map((d) => d.provider)).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(r.devices.find((d) => d.provider === 'cuda')?.ok).toBe(false);
  });

  it('exports and imports masks as PNG, soft levels as grey levels', async () => {
    const img = await openPhoto();
    const mask = stripeMask(32, 24);
    for (let p = 0; p < 256; p++) mask[p] = p; // every level, as a feathered edge has them
    dialogs.saveMask.mockResolvedValueOnce(join(dir, 'mask'));
    expect(await backend.exportMask({ imageId: img.id, width: 32, height: 24, mask })).toEqual({ path: join(dir, 'mask.png') });
    const { data, info } = await sharp(join(dir, 'mask.png')).raw().toBuffer({ resolveWithObject: true });
    // Grey: every channel of a pixel holds its level.
    for (let c = 0; c < info.channels; c++) expect(Uint8Array.from(mask, (_, p) => data[p * info.channels + c]!)).toEqual(mask);
    dialogs.openMask.mockResolvedValueOnce(join(dir, 'mask.png'));
    expect(await backend.importMask({ width: 32, height: 24 })).toEqual(mask);
    dialogs.openMask.mockResolvedValueOnce(join(dir, 'mask.png'));
    await expect(backend.importMask({ width: 20, height: 24 })).rejects.toThrow(/mask is 32x24 but the image is 20x24/);
    // Never over the photo itself.
    dialogs.saveMask.mockResolvedValueOnce(photo);
    await expect(backend.exportMask({ imageId: img.id, width: 32, height: 24, mask })).rejects.toThrow(/refusing to overwrite/);
  });

  it('reads an imported mask in the service, at the image size, as levels (grey kept)', async () => {
    // Grey levels and transparency: the level is 255 x luma x alpha, so a feathered edge comes back soft.
    const px = Buffer.alloc(32 * 24 * 2);
    for (let p = 0; p < 32 * 24; p++) {
      px[2 * p] = p % 3 === 0 ? 255 : p % 3 === 1 ? 100 : 200;
      px[2 * p + 1] = p % 5 === 0 ? 0 : 255;
    }
    const grey = join(dir, 'grey-mask.png');
    await sharp(px, { raw: { width: 32, height: 24, channels: 2 } })
      .png()
      .toFile(grey);
    dialogs.openMask.mockResolvedValueOnce(grey);
    const mask = (await backend.importMask({ width: 32, height: 24 }))!;
    expect(mask).toBeInstanceOf(Uint8Array);
    expect(mask.length).toBe(32 * 24);
    expect([...new Set(mask)].sort((a, b) => a - b)).toEqual([0, 100, 200, 255]);
    for (let p = 0; p < mask.length; p++) expect(mask[p], `pixel ${p}`).toBe(p % 5 === 0 ? 0 : p % 3 === 0 ? 255 : p % 3 === 1 ? 100 : 200);
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    dialogs.openMask.mockResolvedValueOnce(join(dir, 'notes.txt'));
    await expect(backend.importMask({ width: 32, height: 24 })).rejects.toThrow(/^cannot read mask .*notes\.txt: not an image/);
  });

  it('shows a TIFF from a PNG display copy the service decodes, checking the file it reads', async () => {
    const { renameSync, rmSync, symlinkSync } = await import('node:fs');
    const original = await sharp(await writeTestPhoto(join(dir, 'for-tiff.png'), 32, 24))
      .raw()
      .toBuffer();
    const tiff = join(dir, 'photo.tif');
    await sharp(original, { raw: { width: 32, height: 24, channels: 3 } })
      .tiff({ compression: 'deflate' })
      .toFile(tiff);
    const img = await openPhoto(tiff);
    expect(img).toMatchObject({ name: 'photo.tif', width: 32, height: 24 });
    const shown = await imageResponse(backend.images, img.url);
    expect([shown.status, shown.headers.get('content-type')]).toEqual([200, 'image/png']);
    const png = sharp(Buffer.from(await shown.arrayBuffer()));
    expect((await png.metadata()).format).toBe('png');
    expect((await png.removeAlpha().raw().toBuffer()).equals(original)).toBe(true);

    // Rewritten in place (same file, an edit): still shown.
    const edited = join(dir, 'edited.tif');
    await sharp({ create: { width: 32, height: 24, channels: 3, background: '#0000ff' } })
      .tiff()
      .toFile(edited);
    writeFileSync(tiff, readFileSync(edited));
    expect((await imageResponse(backend.images, img.url)).status).toBe(200);
    // Another file in its place: the service refuses it on its own open handle (403).
    renameSync(edited, tiff);
    const refused = await imageResponse(backend.images, img.url);
    expect([refused.status, await refused.text()]).toEqual([403, 'the file changed since it was opened']);
    rmSync(tiff);
    symlinkSync(photo, tiff);
    expect((await imageResponse(backend.images, img.url)).status).toBe(403);
  });

  it('refuses a mask size above the pixel limit before showing the dialog or reading a file', async () => {
    dialogs.openMask.mockClear();
    await expect(backend.importMask({ width: 100_000, height: 100_000 })).rejects.toThrow(/^cannot import a 100000x100000 mask: above the 100 megapixel limit$/);
    await expect(backend.importMask({ width: 10_001, height: 10_000 })).rejects.toThrow(/above the 100 megapixel limit/);
    expect(dialogs.openMask).not.toHaveBeenCalled();
    // At the limit itself the dialog is asked (and cancelling reads nothing).
    dialogs.openMask.mockResolvedValueOnce(null);
    expect(await backend.importMask({ width: 10_000, height: 10_000 })).toBeNull();
    expect(dialogs.openMask).toHaveBeenCalledTimes(1);
  });

  it('does not run on a photo whose path now leads to another file', async () => {
    const { rmSync, symlinkSync } = await import('node:fs');
    const swapped = await writeTestPhoto(join(dir, 'swapped.png'));
    const img = await openPhoto(swapped);
    const elsewhere = await writeTestPhoto(join(dir, 'elsewhere.png'), 32, 24);
    rmSync(swapped);
    symlinkSync(elsewhere, swapped);
    await expect(backend.run({ jobId: 'swapped0001', imageId: img.id, spec: { task: 'denoise', sigmaY: 0.01 }, solver: { solver: 'vml-map', preset: 'fast', seed: 0 } })).rejects.toThrow(
      /swapped\.png is no longer the file that was opened; open it again/,
    );
    expect(jobEvents('swapped0001')).toEqual([]);
  });

  it('opens pasted bytes through a private temporary file', async () => {
    const bytes = readFileSync(photo);
    const img = await backend.openBytes({ name: '../../evil name.png', bytes: new Uint8Array(bytes) });
    expect(img.name).toBe('evil_name.png');
    const entry = backend.images.get(img.id)!;
    expect(entry.path.startsWith(dir)).toBe(true);
    expect(statSync(entry.path).mode & 0o077).toBe(0);
    expect(settings.recentPaths).not.toContain(entry.path);
    await expect(backend.openBytes({ name: 'x.png', bytes: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/not an image/);
  });

  it('removes a recent file that has gone', async () => {
    const gone = await writeTestPhoto(join(dir, 'gone.png'));
    await openPhoto(gone);
    const { rmSync } = await import('node:fs');
    rmSync(gone);
    await expect(backend.openRecent({ index: 0 })).rejects.toThrow(/no longer exists/);
    expect(settings.recentPaths).not.toContain(gone);
  });

  it('keeps settings on disk and survives a damaged settings file', async () => {
    backend.setSettings({ theme: 'dark', brushSize: 77 });
    await settings.flush();
    const again = new SettingsStore(join(dir, 'settings.json'));
    expect(again.settings).toMatchObject({ theme: 'dark', brushSize: 77, provider: 'cpu' });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ settings: { theme: 'neon', brushSize: 12, task: 'x' }, recent: 'no' }));
    const recovered = new SettingsStore(bad);
    expect(recovered.settings).toMatchObject({ theme: 'system', brushSize: 12 });
    expect(recovered.recent).toEqual([]);
    writeFileSync(bad, '{not json');
    expect(new SettingsStore(bad).settings.theme).toBe('system');
    expect(existsSync(join(dir, 'settings.json'))).toBe(true);
  });

  it("the model chooser loads the folder as a job would, refusing a broken graph with the engine's line", async () => {
    const broken = join(dir, 'broken-model');
    cpSync(TINY_MODEL, broken, { recursive: true });
    writeFileSync(join(broken, 'eps.onnx'), 'not a graph');
    const m = JSON.parse(readFileSync(join(broken, 'manifest.json'), 'utf8'));
    m.graphs.forward.sha256 = createHash('sha256').update('not a graph').digest('hex');
    writeFileSync(join(broken, 'manifest.json'), JSON.stringify(m));
    // The manifest alone is fine: only loading the graph finds the problem.
    expect(backend.modelInfo(broken).problem).toBeUndefined();
    const before = settings.modelDir;
    dialogs.chooseModelDir.mockResolvedValueOnce(broken);
    await expect(backend.chooseModel()).rejects.toThrow(/^model .*broken-model: eps\.onnx is not a valid ONNX graph \(/);
    expect(settings.modelDir).toBe(before);
    const intact = join(dir, 'intact-model');
    cpSync(TINY_MODEL, intact, { recursive: true });
    dialogs.chooseModelDir.mockResolvedValueOnce(intact);
    expect((await backend.chooseModel())?.name).toBe('tiny');
    expect(settings.modelDir).toBe(intact);
    expect(backend.modelInfo()).toMatchObject({ dir: intact, bundled: false });
    // And back to the model that ships with the app: the chosen folder is forgotten, on disk too.
    expect(await backend.useBundledModel()).toMatchObject({ dir: TINY_MODEL, name: 'tiny', bundled: true });
    expect(settings.modelDir).toBeUndefined();
    await settings.flush();
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).modelDir).toBeUndefined();
    expect((await backend.getState()).model).toMatchObject({ dir: TINY_MODEL, bundled: true });
    settings.setModelDir(before ?? TINY_MODEL);
  });

  describe('a service that stops while it decodes for main', () => {
    /** Kills the service right after handing it a message of this type. */
    let killOn: string | undefined;
    const seen: AppEvent[] = [];
    let b: Backend;
    beforeAll(() => {
      b = new Backend({
        spawn: () => {
          const p = forkService(SERVICE_ENTRY);
          return {
            ...p,
            send: (msg) => {
              p.send(msg);
              if (msg.type === killOn) {
                killOn = undefined;
                p.kill();
              }
            },
          };
        },
        dialogs,
        settings: new SettingsStore(join(dir, 'crash-settings.json')),
        imageUrl: (id) => `app-image://image/${id}`,
        emit: (e) => seen.push(e),
        defaultModelDir: TINY_MODEL,
        tempDir: dir,
        restartDelayMs: 10,
      });
    });
    afterAll(() => b.dispose());

    it('fails the TIFF request with a message (500 and an error toast), and the next one is served', async () => {
      const tiff = join(dir, 'crash.tif');
      await sharp(photo).tiff().toFile(tiff);
      dialogs.openImage.mockResolvedValueOnce(tiff);
      const img = (await b.openDialog())!;
      killOn = 'display';
      const r = await imageResponse(b.images, img.url);
      const message = 'cannot show crash.tif: the restoration service stopped (signal SIGKILL) while decoding it; try again';
      expect([r.status, await r.text()]).toEqual([500, message]);
      expect(seen).toContainEqual({ kind: 'error', message });
      expect(seen.some((e) => e.kind === 'service' && e.state === 'restarting')).toBe(true);
      const again = await imageResponse(b.images, img.url);
      expect([again.status, again.headers.get('content-type')]).toEqual([200, 'image/png']);
    });

    it('fails the mask import with a message, and the next import works', async () => {
      const maskFile = join(dir, 'crash-mask.png');
      await sharp({ create: { width: 32, height: 24, channels: 3, background: '#ffffff' } })
        .png()
        .toFile(maskFile);
      killOn = 'read-mask';
      dialogs.openMask.mockResolvedValueOnce(maskFile);
      await expect(b.importMask({ width: 32, height: 24 })).rejects.toThrow(/^cannot import the mask: the restoration service stopped \(signal SIGKILL\) while reading it; try again$/);
      dialogs.openMask.mockResolvedValueOnce(maskFile);
      expect(await b.importMask({ width: 32, height: 24 })).toEqual(new Uint8Array(32 * 24).fill(255));
    });
  });

  it('reports a missing model instead of running', async () => {
    const b = new Backend({
      spawn: () => forkService(SERVICE_ENTRY),
      dialogs,
      settings: new SettingsStore(join(dir, 'other.json')),
      imageUrl: (id) => id,
      emit: () => undefined,
      defaultModelDir: join(dir, 'no-model'),
      tempDir: dir,
    });
    const state = await b.getState();
    expect(state.model?.problem).toMatch(/no model folder at .*no-model; choose one under Device/);
    dialogs.openImage.mockResolvedValueOnce(photo);
    const img = (await b.openDialog())!;
    await expect(b.run({ jobId: 'nomodel0001', imageId: img.id, spec: { task: 'denoise', sigmaY: 0.01 }, solver: { solver: 'vml-map', preset: 'fast', seed: 0 } })).rejects.toThrow(/no model folder/);
    expect(b.modelInfo(dir).problem).toMatch(/no manifest.json/);
    b.dispose();
  });
});
