/**
 * End to end in real Chromium: the built renderer, wired through the loopback transport to the
 * main process's handlers and the real inference service (tiny test model). A person opens a
 * photo, chooses inpainting, paints a stroke, runs with the fast preset, sees progress, cancels
 * one run, completes another, uses the before/after views, switches theme and exports, and opens
 * a TIFF and imports a mask (both decoded by the service). The mask tools: a shift-click line, a
 * lasso, a polygon, grow, shrink and feather, each undone and redone, the feathered mask exported
 * and imported with its soft edge and run on. Then an old photo: Detect damage, the mask reviewed,
 * Estimate from photo, the Old photo task restores it, and the result is used as the input of
 * another pass.
 * Screenshots go to test-results/e2e/.
 *
 * Needs Debian's chromium (`apt-get install chromium`); skipped with a message without it.
 */
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialogs } from '../../main/backend.js';
import { settingsFor } from '../../engine/solvers/index.js';
import { ROOT, SERVICE_ENTRY, tempDir, TINY_MODEL, writeOldTestPhoto, writeTestPhoto } from '../app/helpers.js';
import { SHOTS, haveChromium, launchChromium, openAppPage } from './chromium.js';
import { type Loopback, startLoopback } from './loopback/server.js';
import { paintDiagonalStroke } from './stroke.js';

/** Large enough to see in the screenshots, small enough for the tiny model to be quick. */
const W = 240;
const H = 160;

/** The loopback client as one script, injected before the page's own. */

describe.skipIf(!haveChromium)('app in Chromium over the loopback transport', () => {
  const dir = tempDir('e2e');
  const photoPath = join(dir, 'old-photo.png');
  const exportPath = join(dir, 'exported.png');
  const dialogs = {
    openImage: vi.fn<Dialogs['openImage']>(async () => photoPath),
    saveImage: vi.fn<Dialogs['saveImage']>(async () => exportPath),
    confirmReplaceOriginal: vi.fn<Dialogs['confirmReplaceOriginal']>(async () => false),
    openMask: vi.fn<Dialogs['openMask']>(async () => null),
    saveMask: vi.fn<Dialogs['saveMask']>(async () => null),
    chooseModelDir: vi.fn<Dialogs['chooseModelDir']>(async () => null),
  };
  const problems: string[] = [];
  let loop: Loopback;
  let browser: Browser;
  let page: Page;

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };
  const status = () => page.getByTestId('job-status');

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await writeTestPhoto(photoPath, W, H);
    loop = await startLoopback({ rendererDir: join(ROOT, 'out', 'renderer'), serviceEntry: SERVICE_ENTRY, modelDir: TINY_MODEL, dataDir: dir, dialogs });
    loop.backend.setSettings({ provider: 'cpu' });
    // playwright-core gives each launch a fresh temporary profile (it refuses --user-data-dir here).
    browser = await launchChromium();
    page = await openAppPage(browser, loop.url, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await loop?.close();
  });

  it('opens a photo', async () => {
    await page.getByTestId('empty').waitFor();
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    await shot('01-start');
    await page.getByTestId('open').click();
    await page.getByTestId('doc-name').waitFor();
    expect(await page.getByTestId('doc-name').textContent()).toContain('old-photo.png');
    expect(await page.getByTestId('doc-name').textContent()).toContain(`${W}×${H}`);
    const natural = await page.getByTestId('original').evaluate((img: HTMLImageElement) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
    expect(natural).toEqual([W, H]);
  });

  it('paints an inpainting mask', async () => {
    await page.getByTestId('task-inpaint').click();
    await page.getByTestId('preset-fast').click();
    await expect.poll(() => page.getByTestId('run').isDisabled()).toBe(true); // nothing painted yet
    // Fit enlarges the small photo to the pane; zoom in and back to fit (keyboard), then paint along
    // the photo's scratch (from (5%, 18.5%) to (95%, 81.5%)).
    const fitted = Number((await page.getByTestId('zoom').textContent())!.replace('%', ''));
    const stage = (await page.getByTestId('stage').boundingBox())!;
    expect(fitted).toBe(Math.round(100 * Math.min((stage.width - 24) / W, (stage.height - 24) / H)));
    expect(fitted).toBeGreaterThan(100);
    await page.keyboard.press('Control+=');
    await expect.poll(() => page.getByTestId('zoom').textContent()).toBe(`${Math.round(fitted * 1.25)}%`);
    await page.keyboard.press('Control+0');
    await expect.poll(() => page.getByTestId('zoom').textContent()).toBe(`${fitted}%`);
    // The default brush is 8 px (docs/INPAINTING.md); three steps up make it 16 px for this scratch.
    await page.keyboard.press(']');
    await page.keyboard.press(']');
    await page.keyboard.press(']');
    expect(await page.getByTestId('brush-size').textContent()).toBe('16 px');
    await paintDiagonalStroke(page);
    await expect.poll(() => page.getByTestId('run').isEnabled()).toBe(true);
    expect(await page.locator('.panel').filter({ hasText: 'Mask' }).textContent()).toMatch(/\d+\.\d% of the photo will be restored/);
    // The stroke is visible: red overlay pixels on the mask canvas.
    const red = await page.getByTestId('mask-canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) n += d[i]! > 0 ? 1 : 0;
      return n;
    });
    expect(red).toBeGreaterThan(50);
    await shot('02-mask');
  });

  it('shows progress and cancels a long run', async () => {
    await page.locator('summary', { hasText: 'Advanced' }).click();
    await page.getByTestId('steps').fill('2000');
    await page.getByTestId('steps').press('Tab');
    await page.getByTestId('run').click();
    try {
      await page.getByTestId('progress').waitFor();
      // Progress moves per network step: 2000 noise levels of (inner + 1) steps each.
      const steps = 2000 * ((settingsFor('vml-fp', 'fast', 'inpaint').settings as { inner: number }).inner + 1);
      await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(new RegExp(`Step \\d+ of ${steps} · .* left`));
      expect(Number(await page.getByTestId('progress').getAttribute('aria-valuenow'))).toBeGreaterThanOrEqual(0);
      // The live preview of the current estimate replaces the mask view.
      await page.getByText(new RegExp(`^Preview, step \\d+ of ${steps}$`)).waitFor({ timeout: 60_000 });
      await shot('03-progress');
    } finally {
      // Whatever happened above, stop the long run so the next steps start from a clean state.
      await page
        .getByTestId('cancel')
        .click({ timeout: 5000 })
        .catch(() => undefined);
    }
    await expect.poll(() => status().textContent(), { timeout: 30_000 }).toBe('Cancelled');
    expect(await page.getByTestId('run').isVisible()).toBe(true);
  });

  it('completes a run with the fast preset', async () => {
    await page.getByTestId('steps').fill('');
    await page.getByTestId('steps').press('Tab');
    await page.locator('summary', { hasText: 'Advanced' }).click();
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 60_000 }).toMatch(/^Done in .* on cpu/);
    await page.getByTestId('compare').waitFor();
    const drawn = await page.getByTestId('result-canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(drawn).toEqual([W, H]);
    // The status bar says what was restored as the mask panel does: the share painted.
    const restored = Number(/mask: (\d+\.\d)% to restore/.exec((await page.getByTestId('result-info').textContent())!)![1]);
    const painted = Number(/(\d+\.\d)% of the photo will be restored/.exec((await page.getByTestId('mask-summary').textContent())!)![1]);
    expect(Math.abs(restored - painted)).toBeLessThanOrEqual(0.1);
    expect(await page.getByTestId('statusbar').textContent()).not.toContain('observed');
    await shot('04-result-swipe');
  });

  it('moves the before/after divider and keeps the panes in sync', async () => {
    const handle = page.getByTestId('swipe-handle');
    const before = Number(await handle.getAttribute('aria-valuenow'));
    expect(before).toBe(50);
    const hb = (await handle.boundingBox())!;
    const stage = (await page.getByTestId('stage-area').boundingBox())!;
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width * 0.3, hb.y + hb.height / 2, { steps: 8 });
    await page.mouse.up();
    const after = Number(await handle.getAttribute('aria-valuenow'));
    expect(after).toBeGreaterThan(25);
    expect(after).toBeLessThan(35);
    // Zoom in at the pointer; the result layer is clipped at the divider.
    const fitted = await page.getByTestId('zoom').textContent();
    await page.mouse.move(stage.x + stage.width * 0.5, stage.y + stage.height * 0.5);
    await page.mouse.wheel(0, -400);
    await expect.poll(() => page.getByTestId('zoom').textContent()).not.toBe(fitted);
    // Zoomed out (the photo a small part of the pane), the divider still splits the photo where it was put.
    await page.mouse.move(stage.x + stage.width * 0.7, stage.y + stage.height * 0.5);
    await page.mouse.wheel(0, 1200);
    await expect.poll(async () => (await page.locator('.stage-content').boundingBox())!.width).toBeLessThan(stage.width / 3);
    const photo = (await page.locator('.stage-content').boundingBox())!;
    const moved = (await handle.boundingBox())!;
    expect(Math.abs(moved.x + moved.width / 2 - (photo.x + (photo.width * after) / 100))).toBeLessThan(photo.width * 0.01 + 1);
    expect(Number(await handle.getAttribute('aria-valuenow'))).toBe(after);
    await shot('05-swipe-zoomed');

    await page.getByTestId('compare-side').click();
    const transforms = await page.locator('.stage-content').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    expect(transforms).toHaveLength(2);
    expect(transforms[0]).toBe(transforms[1]);
    await page.mouse.move(stage.x + stage.width * 0.25, stage.y + stage.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width * 0.25 - 60, stage.y + stage.height * 0.5 - 20, { steps: 4 });
    await page.mouse.up();
    const panned = await page.locator('.stage-content').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    expect(panned[0]).not.toBe(transforms[0]);
    expect(panned[0]).toBe(panned[1]);
    await shot('06-side-by-side');

    await page.getByTestId('compare-hold').click();
    await page.keyboard.press('Control+0');
    expect(await page.getByTestId('result-canvas').isVisible()).toBe(true);
    const center = (await page.getByTestId('stage').boundingBox())!;
    await page.mouse.move(center.x + center.width / 2, center.y + center.height / 2);
    await page.mouse.down();
    await expect.poll(() => page.getByTestId('result-canvas').isVisible()).toBe(false);
    await shot('07-hold-original');
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('result-canvas').isVisible()).toBe(true);
    await page.getByTestId('compare-swipe').click();
  });

  it('exports the result, never over the original', async () => {
    const original = readFileSync(photoPath);
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${exportPath}`);
    const meta = await sharp(exportPath).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', W, H]);
    expect(dialogs.saveImage).toHaveBeenLastCalledWith(join(dir, 'old-photo-restored.png'), 'png');
    // Choosing the original itself asks first; declining leaves it untouched.
    dialogs.saveImage.mockResolvedValueOnce(photoPath);
    await page.keyboard.press('Control+s');
    await expect.poll(() => dialogs.confirmReplaceOriginal.mock.calls.length).toBe(1);
    expect(readFileSync(photoPath).equals(original)).toBe(true);
  });

  it('keeps each run in the history and compares two of them, A against B, zoom and pan shared', async () => {
    const runs = page.getByTestId('history-run');
    // The run above (the cancelled one is not a run of the history).
    await expect.poll(() => runs.count()).toBe(1);
    expect(await runs.first().getByTestId('history-settings').textContent()).toMatch(/^seed 0 · Fast/);
    // Another run with another seed.
    await page.locator('summary', { hasText: 'Advanced' }).click();
    const seed = page.locator('label.field', { hasText: 'Seed' }).locator('input');
    await seed.fill('1');
    await seed.press('Tab');
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 60_000 }).toMatch(/^Done in .* on cpu/);
    await expect.poll(() => runs.count()).toBe(2);
    // Newest first.
    expect(await runs.nth(0).textContent()).toContain('Run 2');
    expect(await runs.nth(0).getByTestId('history-settings').textContent()).toMatch(/^seed 1 · Fast/);
    expect(await runs.nth(1).getByTestId('history-settings').textContent()).toMatch(/^seed 0 · Fast/);
    expect(await runs.nth(1).textContent()).toContain('✓'); // exported above
    // Run 1 is A, run 2 is B: the compare view shows one against the other.
    await runs.nth(1).getByTestId('history-a').click();
    await runs.nth(0).getByTestId('history-b').click();
    await page.getByTestId('history-compare').click();
    await expect.poll(() => page.getByTestId('compare').textContent()).toContain('A: run 1, seed 0');
    expect(await page.getByTestId('compare').textContent()).toContain('B: run 2, seed 1');
    expect(await page.locator('.compare-ab [data-testid="result-canvas"]').count()).toBe(2);
    // Side by side, zoom and pan stay shared by A and B.
    await page.getByTestId('compare-side').click();
    const stage = (await page.getByTestId('stage-area').boundingBox())!;
    await page.mouse.move(stage.x + stage.width * 0.25, stage.y + stage.height * 0.5);
    await page.mouse.wheel(0, -300);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width * 0.25 - 40, stage.y + stage.height * 0.5 - 10, { steps: 4 });
    await page.mouse.up();
    const transforms = await page.locator('.stage-content').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    expect(transforms).toHaveLength(2);
    expect(transforms[0]).toBe(transforms[1]);
    await page.keyboard.press('Control+0');
    await page.getByTestId('compare-swipe').click();
    await page.getByTestId('history').scrollIntoViewIfNeeded();
    await shot('history-ab');
    // Back to before and after, as the next steps expect.
    await page.getByTestId('history-stop-compare').click();
    await expect.poll(() => page.getByTestId('compare').textContent()).toContain('Before');
    await seed.fill('0');
    await seed.press('Tab');
    await page.locator('summary', { hasText: 'Advanced' }).click();
  });

  it('fits small windows: one toolbar line at 1024x640, Restore and Export in view without scrolling', async () => {
    await page.getByTestId('mode-edit').click();
    // As a person finds it, not as the clicks above left it scrolled.
    await page.getByTestId('sidebar-scroll').evaluate((e) => e.scrollTo(0, 0));
    try {
      for (const [w, h] of [
        [1024, 640],
        [1280, 800],
      ] as const) {
        await page.setViewportSize({ width: w, height: h });
        await page.keyboard.press('Control+0');
        // One line: every control of the toolbar on the same row, inside the window.
        const boxes = await page.locator('.toolbar button:visible, .toolbar select:visible, .toolbar [data-testid="doc-name"]').evaluateAll((els) =>
          els.map((e) => {
            const r = e.getBoundingClientRect();
            return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
          }),
        );
        expect(boxes.length).toBeGreaterThan(8);
        const row = (boxes[0]!.top + boxes[0]!.bottom) / 2;
        for (const b of boxes) {
          expect(Math.abs((b.top + b.bottom) / 2 - row), `${w}x${h}`).toBeLessThan(4);
          expect(b.bottom, `${w}x${h}`).toBeLessThan(48);
          expect(b.left).toBeGreaterThanOrEqual(0);
          expect(b.right).toBeLessThanOrEqual(w);
        }
        expect(await page.getByTestId('doc-name').getAttribute('title')).toBe(`old-photo.png (${W}×${H})`);
        // Restore, the export format and Export whole and in view, the panels above not scrolled.
        const statusbar = (await page.getByTestId('statusbar').boundingBox())!;
        for (const id of ['run', 'export-format', 'export']) {
          const b = (await page.getByTestId(id).boundingBox())!;
          expect(b.y, id).toBeGreaterThan(48);
          expect(b.y + b.height, id).toBeLessThanOrEqual(statusbar.y);
          expect(b.x + b.width, id).toBeLessThanOrEqual(270);
        }
        expect(await page.getByTestId('sidebar-scroll').evaluate((e) => e.scrollTop)).toBe(0);
        // Fit fits the photo to the pane, enlarging it.
        const stage = (await page.getByTestId('stage').boundingBox())!;
        await expect.poll(() => page.getByTestId('zoom').textContent()).toBe(`${Math.round(100 * Math.min((stage.width - 24) / W, (stage.height - 24) / H))}%`);
        await shot(`16-window-${w}x${h}`);
      }
    } finally {
      // The next steps, and their screenshots, at the usual size even when this one failed.
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    await page.getByTestId('mode-compare').click();
  });

  it('tests the devices with real sessions and lets the user choose', async () => {
    await page.getByTestId('devices').click();
    await page.getByTestId('probe').click();
    const dialog = page.getByTestId('devices-dialog');
    await expect.poll(() => dialog.textContent(), { timeout: 60_000 }).toMatch(/CPU — works, [\d.]+ ms per test pass/);
    // Said in words; onnxruntime's own text only under Details.
    expect(await dialog.innerText()).toMatch(/NVIDIA GPU \(CUDA\) — not available on this computer/);
    expect((await dialog.getByTestId('device-details').first().textContent())!.length).toBeGreaterThan('Details'.length);
    await shot('10-devices');
    await dialog.getByRole('radio', { name: /^CPU — works/ }).check();
    await expect.poll(() => loop.backend.getState().then((s) => s.settings.provider), { timeout: 5000 }).toBe('cpu');
    // Another model folder, then back to the bundled one.
    const mine = join(dir, 'my-model');
    cpSync(TINY_MODEL, mine, { recursive: true });
    dialogs.chooseModelDir.mockResolvedValueOnce(mine);
    expect(await page.getByTestId('use-bundled-model').count()).toBe(0);
    await page.getByTestId('choose-model').click();
    await expect.poll(() => loop.backend.modelDir, { timeout: 30_000 }).toBe(mine);
    await page.getByTestId('use-bundled-model').click();
    await expect.poll(() => loop.backend.modelDir).toBe(TINY_MODEL);
    await expect.poll(() => page.getByTestId('use-bundled-model').count()).toBe(0);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it('switches to the dark theme and back to the system theme', async () => {
    expect(await page.getByTestId('theme').inputValue()).toBe('system');
    await page.getByTestId('theme').selectOption('dark');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot('08-dark');
    await page.keyboard.press('F1');
    await page.getByRole('dialog').waitFor();
    await shot('09-shortcuts');
    await page.keyboard.press('Escape');
    await page.getByTestId('theme').selectOption('system');
    // Headless Chromium reports a light system theme.
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await expect.poll(() => loop.backend.getState().then((s) => s.settings.theme), { timeout: 5000 }).toBe('system');
  });

  it('opens a dropped file and a pasted image', async () => {
    const bytes = [...readFileSync(photoPath)];
    await page.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'dropped.png', { type: 'image/png' }));
      dt.items.add(new File([new Uint8Array(data)], 'second.png', { type: 'image/png' }));
      const target = document.querySelector('[data-testid="stage-area"]')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    // The photo before had a painted mask and an unexported result: the page asks before dropping them.
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-dialog').textContent()).toMatch(/Opening another photo discards (the result, which has not been exported|the painted mask)/);
    await shot('10-open-asks');
    await page.getByTestId('confirm-open').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('dropped.png');
    // Two were dropped: the first is open, and the page says so.
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain('2 photos were dropped; dropped.png is open. The app restores one photo at a time');
    await shot('10-dropped-two');
    expect(await page.getByTestId('mode-compare').isDisabled()).toBe(true); // a new photo starts over
    await page.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'image.png', { type: 'image/png' }));
      window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('image.png');
    const natural = await page.getByTestId('original').evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth));
    expect(natural).toBe(W);
  });

  it('shows a TIFF and imports a mask for it, both decoded by the inference service', async () => {
    const tiffPath = join(dir, 'scan.tif');
    await sharp(photoPath).tiff({ compression: 'deflate' }).toFile(tiffPath);
    dialogs.openImage.mockResolvedValueOnce(tiffPath);
    await page.getByTestId('open').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('scan.tif');
    const natural = await page.getByTestId('original').evaluate((img: HTMLImageElement) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
    expect(natural).toEqual([W, H]);
    // The left half white: restore there.
    const maskPath = join(dir, 'imported-mask.png');
    const px = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) px.fill(255, y * W, y * W + W / 2);
    await sharp(px, { raw: { width: W, height: H, channels: 1 } })
      .png()
      .toFile(maskPath);
    dialogs.openMask.mockResolvedValueOnce(maskPath);
    await page.getByTestId('mask-import').click();
    // Read from a copy: repeated readbacks of the page's own canvas make Chromium warn.
    const painted = () =>
      page.getByTestId('mask-canvas').evaluate((c: HTMLCanvasElement) => {
        const copy = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
        const ctx = copy.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) n += d[i]! > 0 ? 1 : 0;
        return n;
      });
    await expect.poll(painted).toBe((W / 2) * H);
    await shot('10-tiff-mask');
  });

  it('edits the mask with each tool, each one step that Undo takes back, and runs on a feathered mask', async () => {
    await page.getByTestId('task-inpaint').click();
    await page.getByTestId('mask-clear').click();
    /** The overlay's alpha (the mask as shown), read from a copy of the canvas. */
    const alphas = () =>
      page.getByTestId('mask-canvas').evaluate((c: HTMLCanvasElement) => {
        const copy = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
        const ctx = copy.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const out: number[] = [];
        for (let i = 3; i < d.length; i += 4) out.push(d[i]!);
        return out;
      });
    /** A summary that changes with any pixel: how many are shown, how many soft, and a weighted sum. */
    const look = async (): Promise<string> => {
      const a = await alphas();
      let shown = 0;
      let soft = 0;
      let sum = 0;
      a.forEach((v, i) => {
        if (v > 0) shown++;
        if (v > 0 && v < 255) soft++;
        sum += v * ((i % 251) + 1);
      });
      return `${shown} shown, ${soft} soft, ${sum}`;
    };
    const shown = async (): Promise<number> => Number((await look()).split(' ')[0]);
    await expect.poll(shown).toBe(0);
    const box = (await page.getByTestId('original').boundingBox())!;
    const at = (u: number, v: number): [number, number] => [box.x + box.width * u, box.y + box.height * v];
    /** Runs one operation, checks it changed the mask, that Undo gives back the mask before it and Redo the one after. */
    const step = async (name: string, operation: () => Promise<void>): Promise<string> => {
      const before = await look();
      await operation();
      await expect.poll(look).not.toBe(before);
      const after = await look();
      await page.mouse.move(...at(0.02, 0.97)); // the cursor off the mask for the screenshot
      await shot(name);
      await page.getByTestId('mask-undo').click();
      await expect.poll(look).toBe(before);
      await page.getByTestId('mask-redo').click();
      await expect.poll(look).toBe(after);
      return after;
    };

    // A dot, then a shift-click: a straight line from the dot, at the brush size.
    await page.getByTestId('tool-brush').click();
    await page.mouse.click(...at(0.1, 0.2));
    await expect.poll(shown).toBeGreaterThan(0);
    const dot = await shown();
    await step('17a-mask-line', async () => {
      await page.keyboard.down('Shift');
      await page.mouse.click(...at(0.6, 0.35));
      await page.keyboard.up('Shift');
    });
    // The line is about 0.5 x 240 px long and 16 px wide, the dot 16 px across.
    expect(await shown()).toBeGreaterThan(dot + 0.4 * W * 14);

    // A lasso drawn round the lower left, adding to the mask.
    await page.getByTestId('tool-lasso').click();
    expect(await page.getByTestId('fill-add').getAttribute('aria-checked')).toBe('true');
    await step('17b-mask-lasso', async () => {
      const loop = Array.from({ length: 24 }, (_, k) => at(0.25 + 0.15 * Math.cos((2 * Math.PI * k) / 24), 0.7 + 0.2 * Math.sin((2 * Math.PI * k) / 24)));
      await page.mouse.move(...loop[0]!);
      await page.mouse.down();
      for (const p of loop.slice(1)) await page.mouse.move(...p);
      await page.mouse.up();
    });

    // A polygon erasing across the line and the lasso, closed by a double-click.
    await page.getByTestId('tool-polygon').click();
    await page.getByTestId('fill-erase').click();
    const before = await shown();
    await step('17c-mask-polygon', async () => {
      await page.mouse.click(...at(0.2, 0.1));
      await page.mouse.click(...at(0.35, 0.1));
      await page.mouse.click(...at(0.35, 0.9));
      await page.mouse.move(...at(0.2, 0.8));
      await page.getByTestId('mask-outline').waitFor();
      await shot('17c-mask-polygon-drawing');
      await page.mouse.dblclick(...at(0.2, 0.8));
      await page.getByTestId('mask-outline').waitFor({ state: 'detached' });
    });
    expect(await shown()).toBeLessThan(before);
    // Escape drops a polygon half drawn, changing nothing.
    const kept = await look();
    await page.mouse.click(...at(0.7, 0.6));
    await page.mouse.click(...at(0.9, 0.6));
    await page.keyboard.press('Escape');
    await page.getByTestId('mask-outline').waitFor({ state: 'detached' });
    expect(await look()).toBe(kept);

    // Grow, shrink and feather by 5 px.
    await page.getByTestId('edge-size').fill('5');
    await page.getByTestId('edge-size').press('Tab');
    const grown = await step('17d-mask-grow', () => page.getByTestId('mask-grow').click());
    expect(Number(grown.split(' ')[0])).toBeGreaterThan(before);
    await step('17e-mask-shrink', () => page.getByTestId('mask-shrink').click());
    const feathered = await step('17f-mask-feather', () => page.getByTestId('mask-feather').click());
    // The feathered edge is shown with its levels' opacity.
    expect(Number(feathered.split(' ')[2])).toBeGreaterThan(200);

    // Exported as grey levels, and imported back as it was.
    const maskPath = join(dir, 'feathered-mask.png');
    dialogs.saveMask.mockResolvedValueOnce(maskPath);
    await page.getByTestId('mask-export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${maskPath}`);
    const grey = new Set(await sharp(maskPath).extractChannel(0).raw().toBuffer());
    expect([...grey].filter((v) => v > 0 && v < 255).length).toBeGreaterThan(3);
    await page.getByTestId('mask-clear').click();
    await expect.poll(shown).toBe(0);
    dialogs.openMask.mockResolvedValueOnce(maskPath);
    await page.getByTestId('mask-import').click();
    await expect.poll(look).toBe(feathered);

    // The service takes the soft levels: the run restores, and the status bar counts what the panel does.
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(/^Done in .* on cpu/);
    const restored = Number(/mask: (\d+\.\d)% to restore/.exec((await page.getByTestId('result-info').textContent())!)![1]);
    const painted = Number(/(\d+\.\d)% of the photo will be restored/.exec((await page.getByTestId('mask-summary').textContent())!)![1]);
    expect(Math.abs(restored - painted)).toBeLessThanOrEqual(0.1);
    await shot('17g-mask-feathered-result');
  });

  it('restores an old photo in one run and uses the result as the input of another pass', async () => {
    const oldPath = await writeOldTestPhoto(join(dir, 'grandparents.png'), W, H);
    const original = readFileSync(oldPath);
    dialogs.openImage.mockResolvedValueOnce(oldPath);
    await page.getByTestId('open').click();
    // The TIFF before has an imported mask: opening asks first.
    await page.getByTestId('confirm-open').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('grandparents.png');
    await page.getByTestId('task-old-photo').click();
    await page.getByTestId('preset-fast').click();
    // The mask is optional for an old photo: Restore is open before anything is marked.
    expect(await page.getByTestId('mask-summary').textContent()).toContain('Nothing marked: no damage will be filled in.');
    expect(await page.getByTestId('run').isEnabled()).toBe(true);

    // Detect damage: the scratch and specks are added to the mask, shown for review.
    await page.getByTestId('detect-damage').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent(), { timeout: 30_000 }).toMatch(/Damage found on \d+\.\d% of the photo and added to the mask/);
    expect(await page.getByTestId('mask-summary').textContent()).toMatch(/\d+\.\d% of the photo will be restored/);
    const marked = () =>
      page.getByTestId('mask-canvas').evaluate((c: HTMLCanvasElement) => {
        const copy = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
        const ctx = copy.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) n += d[i]! > 0 ? 1 : 0;
        return n;
      });
    const found = await marked();
    expect(found).toBeGreaterThan(50);
    // Undo takes the whole detection back, Redo brings it again.
    await page.getByTestId('mask-undo').click();
    await expect.poll(marked).toBe(0);
    await page.getByTestId('mask-redo').click();
    await expect.poll(marked).toBe(found);
    await shot('11-old-photo-damage');

    // Estimate from photo: grain, blur and the lost colour, marked as estimated.
    await page.getByTestId('estimate').click();
    await expect.poll(() => page.locator('.estimated').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('colorize').isChecked()).toBe(true);
    expect(await page.getByTestId('colour-hint').textContent()).toContain('its colours will be restored');
    // The old photo's fields, as the estimate filled them.
    await page.locator('.sidebar').evaluate((el) => el.scrollTo(0, 0));
    await shot('12-old-photo-estimated');
    await page.keyboard.press('Control+Shift+L');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot('12-old-photo-estimated-dark');
    await page.keyboard.press('Control+Shift+L');
    // Still editable: a changed value loses its mark.
    const marks = await page.locator('.estimated').count();
    await page.getByTestId('old-blur').evaluate((el: HTMLInputElement) => {
      el.value = '1.2';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect.poll(() => page.locator('.estimated').count()).toBe(marks - 1);
    expect(await page.locator('.panel').filter({ hasText: 'Blur radius' }).first().textContent()).toContain('1.2 px');

    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(/^Done in .* on cpu/);
    expect(await page.getByTestId('statusbar').textContent()).toMatch(/luma then mask: \d+\.\d% to restore/);
    await page.getByTestId('compare').waitFor();
    await page.getByTestId('use-result').scrollIntoViewIfNeeded();
    await shot('13-old-photo-result');

    // Use result as input: never exported, so it asks first.
    await page.getByTestId('use-result').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await shot('14-use-result-question');
    await page.getByTestId('confirm-use').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('grandparents-restored.png');
    expect(await page.getByTestId('use-result').count()).toBe(0);
    expect(await page.getByTestId('mode-compare').isDisabled()).toBe(true);
    const natural = await page.getByTestId('original').evaluate((img: HTMLImageElement) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
    expect(natural).toEqual([W, H]);
    // Another pass with another task, exported beside the original and named after it.
    await page.getByTestId('task-denoise').click();
    await shot('15-result-as-input');
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(/^Done in .* on cpu/);
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${exportPath}`);
    expect(dialogs.saveImage).toHaveBeenLastCalledWith(join(dir, 'grandparents-restored-2.png'), 'png');
    expect(readFileSync(oldPath).equals(original)).toBe(true);
    // Exported: used as input without a question.
    await page.getByTestId('use-result').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('grandparents-restored-2.png');
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
  });

  it('ran without console errors, CSP violations or failed requests', () => {
    // The image protocol and the event stream are the only requests; none may fail or be blocked.
    expect(problems).toEqual([]);
  });
});
