/**
 * A look check for style changes, not part of the suite: drives builds of the renderer through the
 * same states in Chromium (start screen, task panel, mask painting, progress, the three compare
 * views, dialogs, toasts, focus and hover, light and dark) and saves for each state a screenshot,
 * every element's computed style (pseudo-elements included) and the markup without Vue's scope
 * attributes. Given two builds, it compares them state by state: differing pixels, styles, markup.
 *
 *   npx electron-vite build --logLevel warn && cp -r out/renderer /tmp/before   # the old look
 *   (change the styles)
 *   SCREENS=/tmp/screens SCREENS_BUILDS=before=/tmp/before,after=out/renderer npx vitest run tests/e2e/screens.test.ts
 *
 * Skipped unless SCREENS names the output folder; needs /usr/bin/chromium like app.test.ts.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialogs } from '../../main/backend.js';
import { ROOT, SERVICE_ENTRY, TINY_MODEL, writeTestPhoto } from '../app/helpers.js';
import { CHROMIUM, clientScript, launchChromium } from './chromium.js';
import { startLoopback } from './loopback/server.js';
import { paintDiagonalStroke } from './stroke.js';

const OUT = process.env.SCREENS ? resolve(process.env.SCREENS) : '';
const BUILDS = (process.env.SCREENS_BUILDS ?? `current=${join(ROOT, 'out', 'renderer')}`).split(',').map((b) => {
  const [name, dir] = b.split('=') as [string, string];
  return { name, dir: resolve(dir) };
});
/** One fixed folder, so paths shown in the page (toasts, recent files) are the same for every build. */
const WORK = join(tmpdir(), 'vmlmap-screens-work');
const W = 240;
const H = 160;

/** Every element's computed style (and its ::before/::after), keyed by its place in the tree, and the markup. */
function pageState(): { styles: Record<string, Record<string, string>>; markup: string } {
  const styles: Record<string, Record<string, string>> = {};
  const keyOf = (el: Element): string => {
    const parts: string[] = [];
    for (let e: Element | null = el; e && e !== document.documentElement; e = e.parentElement) {
      parts.unshift(`${e.tagName.toLowerCase()}:${e.parentElement ? Array.from(e.parentElement.children).indexOf(e) : 0}`);
    }
    return parts.join('>');
  };
  const read = (cs: CSSStyleDeclaration): Record<string, string> => {
    const o: Record<string, string> = {};
    for (let i = 0; i < cs.length; i++) o[cs[i]!] = cs.getPropertyValue(cs[i]!);
    return o;
  };
  for (const el of [document.documentElement, ...Array.from(document.documentElement.querySelectorAll('*'))]) {
    const key = keyOf(el);
    styles[key] = read(getComputedStyle(el));
    for (const pseudo of ['::before', '::after']) {
      const cs = getComputedStyle(el, pseudo);
      if (cs.content && cs.content !== 'none' && cs.content !== 'normal') styles[key + pseudo] = read(cs);
    }
  }
  const markup = document.documentElement.outerHTML
    .replace(/ data-v-[0-9a-f]+=""/g, '')
    .replace(/<style[^]*?<\/style>/g, '')
    .replace(/\/app-image\/[\w-]+/g, '/app-image/TOKEN');
  return { styles, markup };
}

interface Shot {
  name: string;
  png: string;
  state: string;
}

async function capture(rendererDir: string, outDir: string): Promise<Shot[]> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const photoPath = await writeTestPhoto(join(WORK, 'old-photo.png'), W, H);
  const dialogs: Dialogs = {
    openImage: vi.fn(async () => photoPath),
    saveImage: vi.fn(async () => join(WORK, 'exported.png')),
    confirmReplaceOriginal: vi.fn(async () => false),
    openMask: vi.fn(async () => null),
    saveMask: vi.fn(async () => null),
    chooseModelDir: vi.fn(async () => null),
  };
  const loop = await startLoopback({ rendererDir, serviceEntry: SERVICE_ENTRY, modelDir: TINY_MODEL, dataDir: WORK, dialogs });
  await loop.backend.setSettings({ provider: 'cpu', theme: 'light' });
  let browser: Browser | undefined;
  const shots: Shot[] = [];
  try {
    browser = await launchChromium(['--font-render-hinting=none']);
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(30_000);
    await page.addInitScript({ content: await clientScript() });
    const settle = (): Promise<unknown> => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const shot = async (name: string, mask: Locator[] = []): Promise<void> => {
      await settle();
      const png = join(outDir, `${name}.png`);
      await page.screenshot({ path: png, animations: 'disabled', mask });
      const state = join(outDir, `${name}.json`);
      writeFileSync(state, JSON.stringify(await page.evaluate(pageState)));
      shots.push({ name, png, state });
    };
    const status = page.getByTestId('job-status');

    await page.goto(loop.url);
    await page.getByTestId('empty').waitFor();
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    await shot('01-start');
    await page.getByRole('button', { name: 'Open a photo…' }).hover();
    await shot('02-start-hover');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'x.png', { type: 'image/png' }));
      document.querySelector('[data-testid="stage-area"]')!.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await shot('03-drop-hint');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'notes.txt', { type: 'text/plain' }));
      document.querySelector('[data-testid="stage-area"]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.getByTestId('toast').waitFor();
    await page.mouse.move(5, 5);
    await shot('04-error-toast');
    await page.getByTestId('toast').getByRole('button', { name: 'Dismiss' }).click();

    await page.getByTestId('open').click();
    await page.getByTestId('doc-name').waitFor();
    await page.getByTestId('original').evaluate((img: HTMLImageElement) => img.decode());
    await page.mouse.move(5, 5);
    await shot('05-opened');
    await page.getByTestId('task-sr').click();
    await shot('06-task-sr');
    await page.getByTestId('task-deblur').click();
    await page.locator('summary', { hasText: 'Advanced' }).click();
    await page.getByTestId('steps').focus();
    await shot('07-task-deblur-advanced');
    await page.locator('summary', { hasText: 'Advanced' }).click();
    await page.getByTestId('blur-kind').selectOption('motion');
    await shot('08-task-deblur-motion');

    await page.getByTestId('task-inpaint').click();
    await page.getByTestId('preset-fast').click();
    for (let i = 0; i < 3; i++) await page.keyboard.press(']');
    // The stroke first: zoomed in, the photo's corners (where it starts) lie outside the stage.
    await paintDiagonalStroke(page);
    await expect.poll(() => page.getByTestId('run').isEnabled()).toBe(true);
    for (let i = 0; i < 3; i++) await page.keyboard.press('Control+=');
    // The eraser's cursor where the zoomed photo is in view: the stage's centre.
    const box = (await page.getByTestId('stage-area').boundingBox())!;
    await shot('09-mask-brush');
    await page.getByTestId('tool-eraser').click();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await shot('10-mask-eraser');
    await page.getByTestId('tool-brush').click();
    await page.keyboard.press('Control+0');
    await page.mouse.move(5, 300);
    await shot('11-mask-fit');

    // A long run, with the moving parts (status text, bar, live preview) masked in the screenshot.
    await page.locator('summary', { hasText: 'Advanced' }).click();
    await page.getByTestId('steps').fill('2000');
    await page.getByTestId('steps').press('Tab');
    await page.getByTestId('run').click();
    await expect.poll(() => status.textContent(), { timeout: 90_000 }).toMatch(/Step \d+ of \d+ · .* left/);
    await page.getByText(/^Preview, step \d+ of \d+$/).waitFor({ timeout: 60_000 });
    await page.getByTestId('cancel').hover();
    await shot('12-progress', [status, page.getByTestId('progress'), page.getByTestId('stage-area')]);
    await page.getByTestId('cancel').click();
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe('Cancelled');
    await page.getByTestId('steps').fill('');
    await page.getByTestId('steps').press('Tab');
    await page.locator('summary', { hasText: 'Advanced' }).click();

    await page.getByTestId('run').click();
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/^Done in .* on cpu/);
    await page.getByTestId('compare').waitFor();
    await page.mouse.move(5, 300);
    await shot('13-result-swipe', [status]);
    await page.getByTestId('swipe-handle').focus();
    await page.keyboard.press('ArrowLeft');
    await shot('14-swipe-focused', [status]);
    await page.getByTestId('compare-side').click();
    await page.mouse.move(5, 300);
    await shot('15-side-by-side', [status]);
    await page.getByTestId('compare-hold').click();
    await page.mouse.move(5, 300);
    await shot('16-hold', [status]);
    const stage = (await page.getByTestId('stage').boundingBox())!;
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2);
    await page.mouse.down();
    await expect.poll(() => page.getByTestId('result-canvas').isVisible()).toBe(false);
    await shot('17-hold-pressed', [status]);
    await page.mouse.up();
    await page.getByTestId('compare-swipe').click();

    await page.getByTestId('export-format').selectOption('jpeg');
    await page.getByTestId('export').click();
    await page.getByTestId('toast').waitFor();
    await page.mouse.move(5, 300);
    await shot('18-export-toast', [status]);
    await page.getByTestId('toast').getByRole('button', { name: 'Dismiss' }).click();
    await page.getByTestId('export-format').selectOption('png');

    await page.getByTestId('devices').click();
    await page.getByTestId('probe').click();
    const dialog = page.getByTestId('devices-dialog');
    await expect.poll(() => dialog.textContent(), { timeout: 60_000 }).toMatch(/CPU — works/);
    // The timings differ from run to run; the same text keeps the layout comparable.
    await dialog.evaluate((d) => {
      const walk = document.createTreeWalker(d, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) n.textContent = n.textContent!.replace(/[\d.]+ ms/, '1.00 ms');
    });
    await shot('19-devices', [status]);
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await page.getByRole('dialog').waitFor();
    await shot('20-shortcuts', [status]);
    await page.keyboard.press('Escape');

    await page.getByTestId('theme').selectOption('dark');
    await page.mouse.move(5, 300);
    await shot('21-dark-result', [status]);
    await page.getByTestId('mode-edit').click();
    await page.getByTestId('task-deblur').hover();
    await shot('22-dark-mask-hover', [status]);
    await page.getByTestId('preset-best').hover();
    await shot('22-dark-preset-hover', [status]);
    await page.keyboard.press('F1');
    await page.getByRole('dialog').waitFor();
    await shot('23-dark-shortcuts', [status]);
    await page.keyboard.press('Escape');
    await page.getByTestId('devices').click();
    await shot('24-dark-devices', [status]);
    await page.keyboard.press('Escape');
    await page.getByTestId('export').click();
    await page.getByTestId('toast').waitFor();
    await page.mouse.move(5, 300);
    await shot('25-dark-toast', [status]);

    await loop.backend.setSettings({ theme: 'dark' });
    await page.reload();
    await page.getByTestId('empty').waitFor();
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    await page.keyboard.press('Tab');
    await shot('26-dark-start-focus');
    return shots;
  } finally {
    await browser?.close();
    await loop.close();
  }
}

async function diffPixels(a: string, b: string, diffPath: string): Promise<{ count: number; max: number }> {
  const [x, y] = await Promise.all([a, b].map((p) => sharp(p).ensureAlpha().raw().toBuffer({ resolveWithObject: true })));
  if (x!.info.width !== y!.info.width || x!.info.height !== y!.info.height) return { count: Number.POSITIVE_INFINITY, max: 255 };
  const out = Buffer.alloc(x!.data.length);
  let count = 0;
  let max = 0;
  for (let i = 0; i < x!.data.length; i += 4) {
    let d = 0;
    for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(x!.data[i + c]! - y!.data[i + c]!));
    max = Math.max(max, d);
    if (d > 0) count++;
    out[i] = d > 0 ? 255 : x!.data[i]! >> 2;
    out[i + 1] = d > 0 ? 0 : x!.data[i + 1]! >> 2;
    out[i + 2] = d > 0 ? 0 : x!.data[i + 2]! >> 2;
    out[i + 3] = 255;
  }
  if (count)
    await sharp(out, { raw: { width: x!.info.width, height: x!.info.height, channels: 4 } })
      .png()
      .toFile(diffPath);
  return { count, max };
}

function diffState(a: string, b: string): string[] {
  const x = JSON.parse(readFileSync(a, 'utf8')) as ReturnType<typeof pageState>;
  const y = JSON.parse(readFileSync(b, 'utf8')) as ReturnType<typeof pageState>;
  const lines: string[] = [];
  // The markup, a tag at a time; the built assets' names always differ.
  const tags = (m: string): string[] => m.replace(/assets\/index-[\w-]+\./g, 'assets/index.').split('<');
  const [p, q] = [tags(x.markup), tags(y.markup)];
  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    if (p[i] === q[i]) continue;
    lines.push(`markup: <${p[i]} -> <${q[i]}`);
    if (p.length !== q.length) break; // tags added or removed: the rest is shifted
  }
  for (const key of new Set([...Object.keys(x.styles), ...Object.keys(y.styles)])) {
    const s = x.styles[key];
    const t = y.styles[key];
    if (!s || !t) {
      lines.push(`${key}: only in ${s ? 'the first' : 'the second'}`);
      continue;
    }
    for (const p of new Set([...Object.keys(s), ...Object.keys(t)])) if (s[p] !== t[p]) lines.push(`${key} ${p}: ${s[p]} -> ${t[p]}`);
  }
  return lines;
}

describe.skipIf(!OUT || !existsSync(CHROMIUM))('screenshots of the main states', () => {
  const results = new Map<string, Shot[]>();
  beforeAll(() => mkdirSync(OUT, { recursive: true }));
  afterAll(() => rmSync(WORK, { recursive: true, force: true }));

  for (const b of BUILDS) {
    it(`captures ${b.name}`, async () => {
      results.set(b.name, await capture(b.dir, join(OUT, b.name)));
    }, 600_000);
  }

  it.runIf(BUILDS.length === 2)('compares the two builds', async () => {
    const [a, b] = BUILDS.map((x) => results.get(x.name)!);
    const report: string[] = [];
    for (const s of a!) {
      const t = b!.find((x) => x.name === s.name)!;
      const px = await diffPixels(s.png, t.png, join(OUT, `diff-${s.name}.png`));
      const st = diffState(s.state, t.state);
      report.push(`${s.name}: ${px.count} differing pixels (max ${px.max}), ${st.length} style/markup differences`);
      report.push(...st.slice(0, 40).map((l) => `    ${l}`));
    }
    writeFileSync(join(OUT, 'report.txt'), report.join('\n') + '\n');
    console.log(report.join('\n'));
  });
});
