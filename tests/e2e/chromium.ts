/**
 * What every Chromium end-to-end file shares: Debian's chromium (skipped with a message without
 * it), where screenshots go, the loopback client bundled for the page, and one way to launch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { ROOT } from '../app/helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-results', 'e2e');
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`[e2e] SKIPPED: ${CHROMIUM} not found (apt-get install chromium)`);

/** tests/e2e/loopback/client.ts as one script for the page (window.api over the loopback transport). */
export async function clientScript(): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: false, lib: { entry: join(import.meta.dirname, 'loopback', 'client.ts'), formats: ['iife'], name: 'loopback' } },
  });
  const result = Array.isArray(out) ? out[0]! : out;
  return (result as { output: { code: string }[] }).output[0]!.code;
}

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Chromium; playwright-core gives each launch a fresh temporary profile (it refuses --user-data-dir here). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs] });
}

/**
 * A 1280x800 page of the app at `url` (window.api over the loopback transport), with every console
 * error or warning, page error and failed request pushed to `problems` for the test to assert on.
 */
export async function openAppPage(browser: Browser, url: string, problems: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.addInitScript({ content: await clientScript() });
  await page.goto(url);
  return page;
}
