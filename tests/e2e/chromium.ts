/**
 * What every Chromium end-to-end file shares: Debian's chromium (skipped with a message without
 * it), where screenshots go, the loopback client bundled for the page, and one way to launch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
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
