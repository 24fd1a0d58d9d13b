/**
 * End to end in real Chromium, "a batch of 3": the built renderer over the loopback transport to
 * main's handlers and the real inference service (tiny test model). Denoise is chosen in the task
 * panel, the Batch dialog adds three photos (one damaged) and an output folder, Start restores
 * them: two written, one failed with its reason in the summary (screenshot batch-3). Started again,
 * the two are skipped. Inpainting is refused with its line.
 *
 * Needs Debian's chromium (`apt-get install chromium`); skipped with a message without it.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialogs } from '../../main/backend.js';
import { ROOT, SERVICE_ENTRY, tempDir, TINY_MODEL, writeTestPhoto } from '../app/helpers.js';
import { SHOTS, haveChromium, launchChromium, openAppPage } from './chromium.js';
import { type Loopback, startLoopback } from './loopback/server.js';

describe.skipIf(!haveChromium)('a batch of 3 in Chromium over the loopback transport', () => {
  const dir = tempDir('e2e-batch');
  const photos = join(dir, 'scans');
  const out = join(dir, 'restored');
  const inputs = [join(photos, 'beach.png'), join(photos, 'garden.png'), join(photos, 'torn.png')];
  const dialogs = {
    openImage: vi.fn<Dialogs['openImage']>(async () => null),
    saveImage: vi.fn<Dialogs['saveImage']>(async () => null),
    confirmReplaceOriginal: vi.fn<Dialogs['confirmReplaceOriginal']>(async () => false),
    openMask: vi.fn<Dialogs['openMask']>(async () => null),
    saveMask: vi.fn<Dialogs['saveMask']>(async () => null),
    chooseModelDir: vi.fn<Dialogs['chooseModelDir']>(async () => null),
    openImages: vi.fn<NonNullable<Dialogs['openImages']>>(async () => inputs),
    chooseFolder: vi.fn<NonNullable<Dialogs['chooseFolder']>>(async () => out),
  };
  const problems: string[] = [];
  let loop: Loopback;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(photos);
    mkdirSync(out);
    await writeTestPhoto(inputs[0]!, 96, 64);
    await writeTestPhoto(inputs[1]!, 64, 48);
    writeFileSync(inputs[2]!, Buffer.from('not a photo: the scan was torn'));
    loop = await startLoopback({ rendererDir: join(ROOT, 'out', 'renderer'), serviceEntry: SERVICE_ENTRY, modelDir: TINY_MODEL, dataDir: dir, dialogs });
    loop.backend.setSettings({ provider: 'cpu' });
    browser = await launchChromium();
    page = await openAppPage(browser, loop.url, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await loop?.close();
  });

  it('a batch of 3: two restored, one failed with its reason; run again, the two are skipped', async () => {
    await page.getByTestId('empty').waitFor();
    await page.getByTestId('task-inpaint').click();
    await page.getByTestId('batch').click();
    await page.getByTestId('batch-add-files').click();
    await expect.poll(() => page.getByTestId('batch-files').locator('li').count()).toBe(3);
    await page.getByTestId('batch-choose-output').click();
    await expect.poll(() => page.getByTestId('batch-output').textContent()).toBe('restored');
    // Inpainting needs a painted mask per photo: refused with its line, Start off.
    expect(await page.getByTestId('batch-refusal').textContent()).toMatch(/Inpainting needs a mask painted on each photo/);
    expect(await page.getByTestId('batch-start').isDisabled()).toBe(true);
    await page.getByTestId('dialog-close').click();
    await page.getByTestId('task-denoise').click();
    await page.getByTestId('preset-fast').click();
    await page.getByTestId('batch').click();
    await page.getByTestId('batch-suffix').fill('-clean');
    await page.getByTestId('batch-start').click();
    await page.getByTestId('batch-summary').waitFor({ timeout: 120_000 });
    const summary = (await page.getByTestId('batch-summary').textContent())!;
    expect(summary).toContain('2 restored, 0 skipped (already done), 1 failed, of 3 in restored');
    expect(summary).toMatch(/torn\.png: cannot read image torn\.png/);
    expect(summary).not.toContain(dir);
    expect(await page.getByTestId('batch-files').locator('li[data-status="done"]').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'batch-3.png') });
    expect(readdirSync(out).sort()).toEqual(['beach-clean.png', 'garden-clean.png']);

    await page.getByTestId('batch-start').click();
    await expect.poll(() => page.getByTestId('batch-summary').textContent(), { timeout: 60_000 }).toContain('0 restored, 2 skipped (already done), 1 failed');
    await page.screenshot({ path: join(SHOTS, 'batch-3-again.png') });
    expect(problems).toEqual([]);
  });
});
