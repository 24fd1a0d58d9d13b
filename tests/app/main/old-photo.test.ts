/**
 * Old photos through main's handlers and the real inference service (forked under Node with the
 * tiny test model): damage detected on the photo for the painter, the grain, blur and colour read
 * from it, an old-photo restoration with and without a mask, and a result made the photo being
 * restored for another pass, with exports named after and never written over the original.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent, JobEvent, OpenedImage } from '../../../common/api.js';
import type { ToService } from '../../../common/service-protocol.js';
import { damageProbability, damageTrust, detectDamage as engineDetect } from '../../../engine/estimate/damage.js';
import { readImage } from '../../../engine/photo/image.js';
import { Backend } from '../../../main/backend.js';
import { SettingsStore } from '../../../main/settings.js';
import { tempDir, TINY_MODEL, until, writeOldTestPhoto, writeTestPhoto } from '../helpers.js';
import { mockDialogs, cpuSettings, serviceBackend, jobEventsIn } from './service-backend.js';

const W = 128;
const H = 96;
const dir = tempDir('old-photo');
const events: AppEvent[] = [];
const dialogs = mockDialogs();
let backend: Backend;
let colour: string;
let old: string;

const { last, finished } = jobEventsIn(events);
const solver = { solver: 'vml-fp' as const, preset: 'fast' as const, seed: 1 };

beforeAll(async () => {
  colour = await writeTestPhoto(join(dir, 'colour.png'), W, H);
  old = await writeOldTestPhoto(join(dir, 'old.png'), W, H);
  backend = serviceBackend({ dialogs, settings: cpuSettings(dir), events, tempDir: dir });
});

afterAll(() => backend?.dispose());

async function open(path: string): Promise<OpenedImage> {
  dialogs.openImage.mockResolvedValueOnce(path);
  return (await backend.openDialog())!;
}

async function runToEnd(jobId: string, req: Omit<Parameters<Backend['run']>[0], 'jobId'>): Promise<Extract<JobEvent, { type: 'done' }>> {
  await backend.run({ jobId, ...req });
  await until(finished(jobId), 90_000, jobId);
  const end = last(jobId)!;
  expect(end, JSON.stringify(end).slice(0, 300)).toMatchObject({ type: 'done' });
  return end as Extract<JobEvent, { type: 'done' }>;
}

describe('old photos through main and the service', () => {
  it('detects damage on the photo as the page paints masks (255 = restore, soft levels where the detector is unsure)', async () => {
    const img = await open(old);
    const found = await backend.detectDamage({ imageId: img.id, sensitivity: 0.5 });
    expect(found.mask).toBeInstanceOf(Uint8Array);
    expect(found.mask.length).toBe(W * H);
    const marked = found.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);
    expect(found.fraction).toBeCloseTo(marked / (W * H), 12);
    expect(marked).toBeGreaterThan(0); // the scratch, at least
    const { image } = await readImage(old);
    for (const sensitivity of [0.5, 1]) {
      const answer = sensitivity === 0.5 ? found : await backend.detectDamage({ imageId: img.id, sensitivity });
      // Wholly restored wherever the engine's detector marks damage at the sensitivity asked for
      // (and, rounded to 255, where it falls just short of its cut) ...
      const damaged = engineDetect(image, { sensitivity }).damaged;
      damaged.forEach((d, p) => d && expect(answer.mask[p]).toBe(255));
      // ... and the levels are the CLI restore's soft weights (1 - level / 255), the same convention.
      const trust = damageTrust(damageProbability(image), H, W, sensitivity);
      expect(answer.mask).toEqual(Uint8Array.from(trust, (t) => Math.round(255 * (1 - t))));
    }
    // Some pixels are soft: neither kept nor wholly restored.
    expect(found.mask.some((v) => v > 0 && v < 255)).toBe(true);
  });

  it('estimates the grain, the blur and the lost colour from the photo', async () => {
    const img = await open(old);
    const e = await backend.estimate({ imageId: img.id, sensitivity: 0.5 });
    expect(e.greyscale).toBe(true);
    expect(e.damaged).toBeGreaterThan(0); // detected, since nothing was painted
    expect(e.sigmaY === undefined || (e.sigmaY >= 0 && e.sigmaY < 0.2)).toBe(true);
    expect(e.blurStd === undefined || (e.blurStd >= 0 && e.blurStd < 5)).toBe(true);
    expect(e.notes.length).toBe((e.sigmaY === undefined ? 1 : 0) + (e.blurStd === undefined ? 1 : 0));
    // A painted mask stands for the damage.
    const mask = new Uint8Array(W * H);
    mask.fill(255, 0, W * 12);
    expect((await backend.estimate({ imageId: img.id, sensitivity: 0.5, mask })).damaged).toBeCloseTo(12 / H, 12);
    // An empty mask is no mask: the damage is detected.
    expect((await backend.estimate({ imageId: img.id, sensitivity: 0.5, mask: new Uint8Array(W * H) })).damaged).toBeCloseTo(e.damaged, 12);
    await expect(backend.estimate({ imageId: img.id, sensitivity: 0.5, mask: new Uint8Array(10) })).rejects.toThrow(/does not match the image size/);

    const inColour = await backend.estimate({ imageId: (await open(colour)).id, sensitivity: 0.5 });
    expect(inColour.greyscale).toBe(false);
    // A toned print (sepia) has no colour of its own either.
    const sepia = join(dir, 'sepia.png');
    await sharp(old).tint('#704214').toFile(sepia);
    expect((await backend.estimate({ imageId: (await open(sepia)).id, sensitivity: 0.5 })).greyscale).toBe(true);
  });

  it('restores an old photo without a mask (no damage) and with the detected one', async () => {
    const img = await open(old);
    const spec = { task: 'old-photo' as const, sigmaY: 0.01, kernel: { type: 'gaussian' as const, std: 1 }, colorize: true };
    const bare = await runToEnd('oldphoto001', { imageId: img.id, spec, solver });
    expect(bare).toMatchObject({ width: W, height: H, image: { width: W, height: H } });
    expect(bare.operator).not.toMatch(/mask/);
    // An empty mask is the same as none.
    const empty = await runToEnd('oldphoto002', { imageId: img.id, spec: { task: 'old-photo', sigmaY: 0.01 }, solver, mask: new Uint8Array(W * H) });
    expect(empty.operator).toBe('identity');
    const found = await backend.detectDamage({ imageId: img.id, sensitivity: 0.5 });
    const masked = await runToEnd('oldphoto003', { imageId: img.id, spec, solver, mask: found.mask });
    expect(masked.operator).toMatch(/mask \(\d+\.\d% observed\)/);
    await expect(backend.run({ jobId: 'oldphoto004', imageId: img.id, spec, solver, mask: new Uint8Array(7).fill(1) })).rejects.toThrow(/does not match the image size/);
  });

  it('makes a result the photo being restored, leaving the original as it was', async () => {
    const before = readFileSync(old);
    const img = await open(old);
    await runToEnd('chain000001', { imageId: img.id, spec: { task: 'old-photo', sigmaY: 0.01, colorize: true }, solver });
    const next = await backend.useResult({ jobId: 'chain000001' });
    expect(next).toMatchObject({ name: 'old-restored.png', width: W, height: H, bitDepth: 8 });
    expect(next.id).not.toBe(img.id);
    expect(JSON.stringify(next)).not.toContain(dir); // still no paths for the page
    const entry = backend.images.get(next.id)!;
    expect(entry.temporary).toBe(true);
    expect(entry.path.startsWith(dir)).toBe(true);
    expect(entry.path).not.toBe(old);
    // Written at full precision for the next pass.
    expect((await sharp(entry.path).metadata()).depth).toBe('ushort');
    expect(readFileSync(old).equals(before)).toBe(true);

    // Another pass on it, with another task; detection and estimates read the new photo.
    expect((await backend.detectDamage({ imageId: next.id, sensitivity: 0.5 })).mask.length).toBe(W * H);
    await runToEnd('chain000002', { imageId: next.id, spec: { task: 'sr', sigmaY: 0.01, scale: 2, srKernel: 'bicubic' }, solver });
    // Exported beside the original, named after it and the pass.
    dialogs.saveImage.mockResolvedValueOnce(join(dir, 'chained.png'));
    expect(await backend.exportResult({ jobId: 'chain000002', format: 'png', quality: 95 })).toEqual({ path: join(dir, 'chained.png') });
    expect(dialogs.saveImage).toHaveBeenLastCalledWith(join(dir, 'old-restored-2.png'), 'png');
    expect(await sharp(join(dir, 'chained.png')).metadata()).toMatchObject({ width: 2 * W, height: 2 * H, depth: 'uchar' });
    // Choosing the original asks first, as for a first pass.
    dialogs.saveImage.mockResolvedValueOnce(old);
    dialogs.confirmReplaceOriginal.mockResolvedValueOnce(false);
    expect(await backend.exportResult({ jobId: 'chain000002', format: 'png', quality: 95 })).toBeNull();
    expect(dialogs.confirmReplaceOriginal).toHaveBeenLastCalledWith(old);
    expect(readFileSync(old).equals(before)).toBe(true);
    // The third pass is named on.
    expect((await backend.useResult({ jobId: 'chain000002' })).name).toBe('old-restored-2.png');
  });

  it('refuses what it cannot do, with a message', async () => {
    await expect(backend.detectDamage({ imageId: 'unknownimage0000', sensitivity: 0.5 })).rejects.toThrow(/no longer open/);
    await expect(backend.estimate({ imageId: 'unknownimage0000', sensitivity: 0.5 })).rejects.toThrow(/no longer open/);
    await expect(backend.useResult({ jobId: 'neverrun0001' })).rejects.toThrow(/no finished result/);
  });
});

describe("main checks the service's answers about a photo", () => {
  /** A service that answers each request with what `answer` returns for it. */
  function scripted(answer: (msg: ToService & { requestId: string }) => Record<string, unknown>): Backend {
    return new Backend({
      spawn: () => {
        let listener: ((m: unknown) => void) | undefined;
        queueMicrotask(() => listener?.({ type: 'ready', pid: 1 }));
        return {
          send: (msg) => {
            if ('requestId' in msg) queueMicrotask(() => listener?.({ requestId: msg.requestId, ...answer(msg as ToService & { requestId: string }) }));
          },
          onMessage: (l) => void (listener = l),
          onExit: () => undefined,
          kill: () => undefined,
        };
      },
      dialogs,
      settings: new SettingsStore(join(dir, 'scripted.json')),
      imageUrl: (id) => id,
      emit: () => undefined,
      defaultModelDir: TINY_MODEL,
      tempDir: dir,
    });
  }

  it('refuses an estimate out of its bounds and a mask of the wrong size', async () => {
    const b = scripted((msg) => (msg.type === 'estimate' ? { type: 'reply', ok: true, value: { sigmaY: 7, damaged: 0, notes: [] } } : { type: 'mask', mask: new Uint8Array(5) }));
    dialogs.openImage.mockResolvedValueOnce(old);
    const img = (await b.openDialog())!;
    await expect(b.estimate({ imageId: img.id, sensitivity: 0.5 })).rejects.toThrow(/sigmaY: must be in \[0, 1\]/);
    await expect(b.detectDamage({ imageId: img.id, sensitivity: 0.5 })).rejects.toThrow(/the service read 5 pixels, not 128x96/);
    b.dispose();
  });

  it("passes the service's own line on when it cannot read the photo", async () => {
    const b = scripted((msg) => (msg.type === 'estimate' ? { type: 'reply', ok: false, error: 'cannot read old.png: truncated' } : { type: 'mask', error: 'cannot read old.png: truncated' }));
    dialogs.openImage.mockResolvedValueOnce(old);
    const img = (await b.openDialog())!;
    await expect(b.estimate({ imageId: img.id, sensitivity: 0.5 })).rejects.toThrow(/^cannot read old\.png: truncated$/);
    await expect(b.detectDamage({ imageId: img.id, sensitivity: 0.5 })).rejects.toThrow(/^cannot read old\.png: truncated$/);
    b.dispose();
  });
});
