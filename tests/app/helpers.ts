/** Shared by the app's tests: paths, a test photo, and waiting for events. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SERVICE_ENTRY = join(ROOT, 'out', 'main', 'service.js');
export const TINY_MODEL = join(ROOT, 'tests', '.models', 'tiny');

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `vmlmap-${prefix}-`));

/**
 * A small photo-like test image: sky, sun, two rows of hills, and a bright diagonal scratch to
 * paint over (inpainting). Deterministic.
 */
export async function writeTestPhoto(path: string, width = 32, height = 24, opts: { alpha?: boolean } = {}): Promise<string> {
  const channels = opts.alpha ? 4 : 3;
  const px = Buffer.alloc(width * height * channels);
  const mix = (a: number[], b: number[], t: number): number[] => a.map((v, i) => v + (b[i]! - v) * t);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      let c = mix([70, 120, 200], [200, 220, 240], v / 0.6);
      if (Math.hypot(u - 0.75, v - 0.22) < 0.09) c = [255, 225, 120];
      if (v > 0.55 + 0.08 * Math.sin(u * 7)) c = mix([70, 130, 60], [40, 90, 40], (v - 0.5) * 2);
      if (v > 0.72 + 0.05 * Math.sin(u * 11 + 1)) c = mix([120, 100, 60], [80, 60, 40], (v - 0.7) * 3);
      if (Math.abs(v - (0.15 + 0.7 * u)) < 1.2 / height) c = [245, 245, 240];
      const i = (y * width + x) * channels;
      px[i] = Math.round(c[0]!);
      px[i + 1] = Math.round(c[1]!);
      px[i + 2] = Math.round(c[2]!);
      if (opts.alpha) px[i + 3] = x < width / 2 ? 255 : 128;
    }
  }
  await sharp(px, { raw: { width, height, channels } }).png().toFile(path);
  return path;
}

/**
 * The test photo made old: grey (stored as RGB), blurred (Gaussian std 1.2 px), then a bright
 * vertical scratch and a few dark specks drawn on the print. Deterministic.
 */
export async function writeOldTestPhoto(path: string, width: number, height: number): Promise<string> {
  const src = await writeTestPhoto(`${path}.source.png`, width, height);
  const grey = await sharp(src).grayscale().blur(1.2).extractChannel(0).raw().toBuffer();
  const px = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) px.fill(grey[p]!, 3 * p, 3 * p + 3);
  const set = (x: number, y: number, v: number): void => void px.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
  const x = Math.round(width * 0.31);
  for (let y = Math.round(height * 0.1); y < Math.round(height * 0.9); y++) set(x, y, 250);
  for (const [u, v] of [
    [0.7, 0.2],
    [0.78, 0.73],
    [0.16, 0.62],
  ] as const) {
    const x = Math.round(u * width);
    const y = Math.round(v * height);
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) set(x + dx, y + dy, 15);
  }
  await sharp(px, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
  return path;
}

export async function until(cond: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
