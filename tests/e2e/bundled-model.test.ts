/**
 * The bundled default model (resources/models/default), end to end in real Chromium over the
 * loopback transport: a person opens a real photo (a 128×128 crop of grace_hopper.jpg), chooses the
 * task and its settings in the page, runs it with the fast preset and seed 0, and exports a PNG.
 * The app's export must equal, pixel for pixel, what the built CLI writes for the same photo,
 * settings, seed and model (`vmlmap restore ... --model resources/models/default --provider cpu
 * --seed 0 --preset fast`): both run the same engine code, so any difference is a bug. Once denoising
 * (a fixed noise level), once inpainting a stroke painted in the page (its mask exported by the app
 * and given to the CLI). Each run is a second or two on a CPU. No tolerance: with seed 1 instead of 0
 * the denoised crop differs by 1/255 in a few hundred samples only, so even 1/255 would hide a lost
 * setting.
 * Screenshots go to test-results/e2e/bundled-*.png.
 *
 * Needs Debian's chromium (`apt-get install chromium`) and the test photo
 * /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg (python3-matplotlib, installed by
 * .ci/run); skipped with a message without either.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialogs } from '../../main/backend.js';
import { ROOT, SERVICE_ENTRY, tempDir } from '../app/helpers.js';
import { runCli } from '../cli/run-cli.js';
import { SHOTS, haveChromium, launchChromium, openAppPage } from './chromium.js';
import { type Loopback, startLoopback } from './loopback/server.js';
import { paintDiagonalStroke } from './stroke.js';

const PHOTO = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg';
const BUNDLED = join(ROOT, 'resources', 'models', 'default');
const havePhoto = existsSync(PHOTO);
/** The crop: her eyes and glasses, small enough for a run of a second or two on a CPU. */
const SIZE = 128;
const CROP = { left: 190, top: 120, width: SIZE, height: SIZE };
/** The noise added to the crop, and the level the page is set to, in 8-bit units. */
const NOISE = 10;
if (!havePhoto) console.warn(`[e2e] SKIPPED: the bundled-model test photo ${PHOTO} is missing (apt-get install python3-matplotlib)`);

/** The crop as an 8-bit RGB PNG, with Gaussian noise of std `noise` (8-bit units; 0: none) from a fixed generator. */
async function writeCrop(path: string, noise: number): Promise<void> {
  const px = await sharp(PHOTO).extract(CROP).removeAlpha().raw().toBuffer();
  let state = 12345;
  const uniform = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < px.length; i++) {
    const g = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    px[i] = Math.max(0, Math.min(255, Math.round(px[i]! + noise * g)));
  }
  await sharp(px, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toFile(path);
}

/** Decoded pixels, channel count and bit depth of a PNG. */
async function pixels(path: string): Promise<{ data: Buffer; channels: number; depth: string | undefined; width: number; height: number }> {
  const { data, info } = await sharp(path).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const meta = await sharp(path).metadata();
  return { data, channels: info.channels, depth: meta.depth, width: info.width, height: info.height };
}

/** The largest difference between two decoded images, in 8-bit units, and how many samples differ. */
async function difference(a: string, b: string): Promise<{ max: number; differing: number }> {
  const [pa, pb] = await Promise.all([pixels(a), pixels(b)]);
  expect([pa.width, pa.height, pa.channels, pa.depth]).toEqual([pb.width, pb.height, pb.channels, pb.depth]);
  const va = new Uint16Array(pa.data.buffer, pa.data.byteOffset, pa.data.length / 2);
  const vb = new Uint16Array(pb.data.buffer, pb.data.byteOffset, pb.data.length / 2);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < va.length; i++) {
    const d = Math.abs(va[i]! - vb[i]!);
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  // sharp widens 8-bit samples to 16 bits without scaling them.
  return { max: pa.depth === 'ushort' ? (max / 65535) * 255 : max, differing };
}

describe.skipIf(!haveChromium || !havePhoto)('the bundled model in the app equals the CLI, in Chromium over the loopback transport', () => {
  const dir = tempDir('e2e-bundled');
  const noisyPath = join(dir, 'grace-noisy.png');
  const cleanPath = join(dir, 'grace.png');
  const dialogs = {
    openImage: vi.fn<Dialogs['openImage']>(async () => noisyPath),
    saveImage: vi.fn<Dialogs['saveImage']>(async () => null),
    confirmReplaceOriginal: vi.fn<Dialogs['confirmReplaceOriginal']>(async () => false),
    openMask: vi.fn<Dialogs['openMask']>(async () => null),
    saveMask: vi.fn<Dialogs['saveMask']>(async () => null),
    chooseModelDir: vi.fn<Dialogs['chooseModelDir']>(async () => null),
  };
  const problems: string[] = [];
  let loop: Loopback;
  let browser: Browser;
  let page: Page;

  const status = () => page.getByTestId('job-status');
  const cli = (args: string[]) => runCli(['restore', ...args, '--model', BUNDLED, '--provider', 'cpu', '--solver', 'vml-fp', '--preset', 'fast', '--seed', '0']);

  /** The task's settings as a person sets them: noise level (a slider), the fast preset, and under Advanced the solver and seed 0. */
  async function chooseSettings(task: 'denoise' | 'inpaint', noise: number): Promise<void> {
    await page.getByTestId(`task-${task}`).click();
    await page.getByTestId('noise').evaluate((el: HTMLInputElement, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, noise);
    expect(await page.locator('label.field', { hasText: 'Noise level' }).textContent()).toContain(`${noise.toFixed(1)} / 255`);
    await page.getByTestId('preset-fast').click();
    expect(await page.getByTestId('preset-fast').getAttribute('aria-checked')).toBe('true');
    const advanced = page.locator('details.advanced');
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
    await page.getByTestId('solver').selectOption('vml-fp');
    const seed = page.locator('label.field', { hasText: 'Seed' }).locator('input');
    await seed.fill('0');
    await seed.press('Tab');
    expect(await page.getByTestId('steps').inputValue()).toBe(''); // the preset's steps
  }

  /** Restore, wait for Done, export to `path` as PNG; returns the result's status line. */
  async function restoreAndExport(path: string, shotName: string): Promise<string> {
    await page.getByTestId('run').click();
    await expect.poll(() => status().textContent(), { timeout: 90_000 }).toMatch(/^Done in .* on cpu/);
    await page.getByTestId('compare').waitFor();
    expect(await page.getByTestId('result-canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([SIZE, SIZE]);
    // The run in the history: seed 0 and the fast preset.
    expect(await page.getByTestId('history-settings').first().textContent()).toMatch(/^seed 0 · Fast/);
    await page.getByTestId('compare-side').click();
    await page.screenshot({ path: join(SHOTS, `${shotName}.png`) });
    await page.getByTestId('compare-swipe').click();
    expect(await page.getByTestId('export-format').inputValue()).toBe('png');
    dialogs.saveImage.mockResolvedValueOnce(path);
    await page.getByTestId('export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${path}`);
    return (await status().textContent())!;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await writeCrop(noisyPath, NOISE);
    await writeCrop(cleanPath, 0);
    // The bundled model, not the tiny test model: the app's default model folder, as when packaged.
    loop = await startLoopback({ rendererDir: join(ROOT, 'out', 'renderer'), serviceEntry: SERVICE_ENTRY, modelDir: BUNDLED, dataDir: dir, dialogs });
    loop.backend.setSettings({ provider: 'cpu' });
    expect(loop.backend.modelDir).toBe(BUNDLED);
    browser = await launchChromium();
    page = await openAppPage(browser, loop.url, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await loop?.close();
  });

  it('denoises a real photo with the bundled model exactly as the CLI does', async () => {
    await expect.poll(() => page.getByTestId('statusbar').textContent()).toContain('Ready');
    // The page names the model it runs: the bundled one (the tiny test model is named 'tiny').
    expect(await page.getByTestId('statusbar').textContent()).toContain('Model: default');
    await page.getByTestId('open').click();
    await page.getByTestId('doc-name').waitFor();
    expect(await page.getByTestId('doc-name').textContent()).toContain(`grace-noisy.png`);
    await chooseSettings('denoise', NOISE);
    const appPath = join(dir, 'app-denoised.png');
    await restoreAndExport(appPath, 'bundled-denoise');

    // The page sends the noise level as sigma_y = 10 / 255 rounded to 6 decimals (renderer/src/stores/task.ts).
    const cliPath = join(dir, 'cli-denoised.png');
    const r = cli(['--task', 'denoise', '--input', noisyPath, '--output', cliPath, '--sigma-y', '0.039216', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect([summary.provider, summary.precision, summary.solver, summary.preset]).toEqual(['cpu', 'fp32', 'vml-fp', 'fast']);

    // Not a no-op: the result differs from the noisy photo by more than rounding.
    expect((await difference(appPath, noisyPath)).max).toBeGreaterThan(10);
    expect(await difference(appPath, cliPath)).toEqual({ max: 0, differing: 0 });
  });

  it('inpaints a stroke painted in the page with the bundled model exactly as the CLI does with the exported mask', async () => {
    dialogs.openImage.mockResolvedValueOnce(cleanPath);
    await page.getByTestId('open').click();
    await expect.poll(() => page.getByTestId('doc-name').textContent()).toContain('grace.png');
    await chooseSettings('inpaint', 2);
    await paintDiagonalStroke(page);
    await expect.poll(() => page.getByTestId('run').isEnabled()).toBe(true);
    const maskPath = join(dir, 'stroke-mask.png');
    dialogs.saveMask.mockResolvedValueOnce(maskPath);
    await page.getByTestId('mask-export').click();
    await expect.poll(() => page.getByTestId('toast').last().textContent()).toContain(`Saved ${maskPath}`);
    const restoredShare = (await sharp(maskPath).extractChannel(0).raw().toBuffer()).filter((v) => v > 0).length / (SIZE * SIZE);
    expect(restoredShare).toBeGreaterThan(0.02);
    const appPath = join(dir, 'app-inpainted.png');
    await restoreAndExport(appPath, 'bundled-inpaint');

    // 2 / 255 rounded to 6 decimals, as the page sends it.
    const cliPath = join(dir, 'cli-inpainted.png');
    const r = cli(['--task', 'inpaint', '--input', cleanPath, '--mask', maskPath, '--output', cliPath, '--sigma-y', '0.007843']);
    expect(r.code, r.stderr).toBe(0);

    expect((await difference(appPath, cleanPath)).max).toBeGreaterThan(10);
    expect(await difference(appPath, cliPath)).toEqual({ max: 0, differing: 0 });
  });

  it('ran without console errors, CSP violations or failed requests', () => {
    expect(problems).toEqual([]);
  });
});
