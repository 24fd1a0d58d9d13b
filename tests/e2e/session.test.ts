/**
 * No lost work, end to end in real Chromium over the loopback transport (the real main handlers,
 * main's close and crash guards, and the real inference service with the tiny test model). A person
 * paints a mask; it is autosaved a few seconds later; the page's renderer crashes and main's crash
 * guard reloads it, and the mask is back without a question. With an unexported result, closing the
 * window asks (Cancel keeps it). The app starts again: the session is offered back and Restore
 * brings the photo, the mask, the settings and the result, which exports; quitting without saving
 * clears it, and with nothing at stake closing does not ask.
 *
 * Playwright closes a page whose renderer crashed, so main's webContents.reload() is played by a
 * new tab of the same browser context on the same loopback host (the test's `window.reload`
 * hook). Screenshots go to test-results/e2e/session-*.png.
 *
 * Needs Debian's chromium (`apt-get install chromium`); skipped with a message without it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialogs } from '../../main/backend.js';
import { ROOT, SERVICE_ENTRY, tempDir, TINY_MODEL, writeTestPhoto } from '../app/helpers.js';
import { SHOTS, haveChromium, clientScript, launchChromium } from './chromium.js';
import { type Loopback, startLoopback } from './loopback/server.js';
import { paintDiagonalStroke } from './stroke.js';

const W = 240;
const H = 160;

describe.skipIf(!haveChromium)('no lost work, in Chromium over the loopback transport', () => {
  const dir = tempDir('e2e-session');
  const sessionDir = join(dir, 'session');
  const photoPath = join(dir, 'attic.png');
  const exportPath = join(dir, 'attic-restored.png');
  const dialogs = {
    openImage: vi.fn<Dialogs['openImage']>(async () => photoPath),
    saveImage: vi.fn<Dialogs['saveImage']>(async () => exportPath),
    confirmReplaceOriginal: vi.fn<Dialogs['confirmReplaceOriginal']>(async () => false),
    openMask: vi.fn<Dialogs['openMask']>(async () => null),
    saveMask: vi.fn<Dialogs['saveMask']>(async () => null),
    chooseModelDir: vi.fn<Dialogs['chooseModelDir']>(async () => null),
  };
  const problems: string[] = [];
  const closed = vi.fn();
  let loop: Loopback;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let client: string;
  /** The tab that main's reload after a crash opened. */
  let reloaded: Promise<Page> | undefined;
  let painted = 0;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
  const status = () => page.getByTestId('job-status');
  const index = () => JSON.parse(readFileSync(join(sessionDir, 'session.json'), 'utf8'));
  /** Pixels the mask overlay shows, read from a copy of its canvas. */
  const shown = () =>
    page.getByTestId('mask-canvas').evaluate((c: HTMLCanvasElement) => {
      const copy = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
      const ctx = copy.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(c, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) n += d[i]! > 0 ? 1 : 0;
      return n;
    });

  /** A tab on the loopback host, watched for problems and for its renderer crashing. */
  async function openTab(): Promise<Page> {
    const p = await context.newPage();
    p.setDefaultTimeout(15_000);
    p.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Electron: webContents 'render-process-gone' in main.
    p.on('crash', () => loop.pageGone('crashed'));
    // Before the app's own scripts, on the app's page only (not the new tab's about:blank).
    await p.addInitScript({ content: client });
    await p.goto(loop.url);
    return p;
  }

  /** Main as at a start of the app, on the same data folder (settings, session). */
  async function startMain(): Promise<void> {
    loop = await startLoopback({
      rendererDir: join(ROOT, 'out', 'renderer'),
      serviceEntry: SERVICE_ENTRY,
      modelDir: TINY_MODEL,
      dataDir: dir,
      dialogs,
      window: {
        reload: () => void (reloaded = openTab()),
        close: closed,
      },
    });
    loop.backend.setSettings({ provider: 'cpu' });
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await writeTestPhoto(photoPath, W, H);
    await startMain();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    client = await clientScript();
    page = await openTab();
  });

  afterAll(async () => {
    await browser?.close();
    await loop?.close();
  });

  it('autosaves a painted mask a few seconds after the stroke', async () => {
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    await page.getByTestId('open').click();
    await page.getByTestId('doc-name').waitFor();
    await page.getByTestId('task-inpaint').click();
    await page.getByTestId('preset-fast').click();
    await paintDiagonalStroke(page);
    await expect.poll(shown).toBeGreaterThan(500);
    painted = await shown();
    // Not at once: a few seconds after the last change.
    expect(existsSync(join(sessionDir, 'session.json'))).toBe(false);
    await page.getByTestId('autosaved').waitFor({ timeout: 15_000 });
    const saved = index();
    expect(saved.photo).toMatchObject({ path: photoPath, name: 'attic.png', width: W, height: H });
    expect(saved.task.spec.task).toBe('inpaint');
    expect(saved.task.solver.preset).toBe('fast');
    const levels = readFileSync(join(sessionDir, saved.mask.file));
    expect(levels.length).toBe(W * H);
    expect(levels.filter((v) => v === 255).length).toBeGreaterThan(300);
  });

  it('reloads the page after its renderer crashes, and the mask is back without a question', async () => {
    const cdp = await context.newCDPSession(page);
    // Chromium's own crash of the renderer process (as a renderer bug would). The command has no
    // answer (its target is gone), so it is not awaited.
    void cdp.send('Page.crash').catch(() => undefined);
    await expect.poll(() => reloaded !== undefined, { timeout: 15_000 }).toBe(true);
    page = await reloaded!;
    await expect.poll(() => page.getByTestId('toast').first().textContent()).toContain('The window crashed and was reloaded; your work was restored');
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
    expect(await page.getByTestId('doc-name').textContent()).toContain('attic.png');
    await expect.poll(shown).toBe(painted);
    expect(await page.getByTestId('run').isEnabled()).toBe(true);
    expect(await page.getByTestId('preset-fast').getAttribute('aria-checked')).toBe('true');
    await shot('session-restored');
  });

  it('asks before closing with an unexported result; Cancel keeps the window', async () => {
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(/^Done in .* on cpu/);
    const closing = loop.requestClose();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-dialog').textContent()).toContain('Quitting now discards the result, which has not been exported and the painted mask.');
    await shot('session-quit-asks');
    await page.getByTestId('dialog-close').click();
    expect(await closing).toBe(false);
    expect(closed).not.toHaveBeenCalled();
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
    // The result is autosaved too, as a PNG the service writes.
    await expect.poll(() => index().result?.exported, { timeout: 15_000 }).toBe(false);
  });

  it('offers the session back when the app starts again: Restore brings the photo, the mask, the settings and the result', async () => {
    const jobId = index().result.info.jobId;
    await page.close();
    await loop.close();
    await startMain();
    page = await openTab();
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-dialog').textContent()).toMatch(/Restore your last session\?.*attic\.png with the painted mask and a result that was not exported, autosaved/);
    await shot('session-offered');
    await page.getByTestId('confirm-restore').click();
    await expect.poll(() => page.getByTestId('toast').first().textContent()).toContain('Your last session was restored');
    expect(await page.getByTestId('doc-name').textContent()).toContain('attic.png');
    await page.getByTestId('compare').waitFor();
    expect(await page.getByTestId('result-canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([W, H]);
    await shot('session-offered-restored');
    await page.getByTestId('mode-edit').click();
    await expect.poll(shown).toBe(painted);
    expect(await page.getByTestId('preset-fast').getAttribute('aria-checked')).toBe('true');
    // The result is the service's again: it exports.
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${exportPath}`);
    expect((await sharp(exportPath).metadata()).width).toBe(W);
    expect(index().result.info.jobId).toBe(jobId);
  });

  it('quitting without saving clears the session; with nothing at stake closing does not ask', async () => {
    const closing = loop.requestClose();
    await page.getByTestId('confirm-dialog').waitFor();
    // Exported: only the mask is at stake now.
    expect(await page.getByTestId('confirm-dialog').textContent()).toContain('Quitting now discards the painted mask.');
    await page.getByTestId('confirm-quit').click();
    expect(await closing).toBe(true);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(existsSync(sessionDir)).toBe(false);

    // Started again: nothing is offered; a photo with nothing painted closes without a question.
    await page.close();
    page = await openTab();
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    await page.getByTestId('open').click();
    await page.getByTestId('doc-name').waitFor();
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
    expect(await loop.requestClose()).toBe(true);
    expect(closed).toHaveBeenCalledTimes(2);
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
  });

  it('ran without console errors, CSP violations or failed requests', () => {
    expect(problems).toEqual([]);
  });
});
