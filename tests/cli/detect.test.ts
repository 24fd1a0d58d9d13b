/**
 * `vmlmap detect` end to end: it writes the damage it finds on a synthetic old photo as a mask image
 * in the person's convention (white = damaged, 255), which reads back through the same conversion
 * as --mask; it reports in --json; and it refuses bad input with one line and exit code 1, writing
 * nothing.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readMask, writeImage } from '../../engine/photo/image.js';
import { syntheticOldPhoto } from '../../engine/synthetic/old-photo.js';
import type { Img } from '../../engine/types.js';
import { runCli } from './run-cli.js';

let dir: string;
let oldPng: string;
let truth: Uint8Array;
const W = 160;
const H = 128;

/** Colour gradients with a bright bar and a dark disc. */
function scene(): Img {
  const data = new Float64Array(3 * H * W);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let v = 0.25 + (0.4 * x) / W + (0.2 * y) / H + 0.05 * c;
        if (x > 40 && x < 70) v += 0.15;
        if ((x - 110) ** 2 + (y - 50) ** 2 < 400) v -= 0.12;
        data[(c * H + y) * W + x] = v;
      }
  return { c: 3, h: H, w: W, data };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-detect-'));
  oldPng = join(dir, 'old.png');
  const old = syntheticOldPhoto(scene(), { seed: 3 });
  truth = old.damaged;
  await writeImage(oldPng, old.image, { bitDepth: 16 });
});

describe('vmlmap detect', () => {
  it('writes the damage as a white-on-black mask and reports it in --json', async () => {
    const mask = join(dir, 'mask.png');
    const r = runCli(['detect', '--input', oldPng, '--output', mask, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ output: mask, width: W, height: H, sensitivity: 0.5 });
    const { data, info } = await sharp(mask).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([W, H]);
    // Only black and white, white where damaged.
    let white = 0;
    for (let p = 0; p < W * H; p++) {
      const v = data[p * info.channels];
      expect(v === 0 || v === 255).toBe(true);
      if (v === 255) white++;
    }
    expect(white).toBe(summary.damagedPixels);
    expect(summary.damagedFraction).toBeCloseTo(white / (W * H), 10);
    // Read back as --mask reads it: observed 0 where white. Most of the true damage is marked.
    const observed = await readMask(mask, W, H);
    let found = 0;
    let total = 0;
    for (let p = 0; p < W * H; p++)
      if (truth[p]) {
        total++;
        if (observed[p] === 0) found++;
      }
    expect(found / total).toBeGreaterThan(0.7);
  });

  it('says what it wrote without --json, and a higher --sensitivity marks more', () => {
    const low = runCli(['detect', '--input', oldPng, '--output', join(dir, 'low.png'), '--sensitivity', '0', '--json']);
    const high = runCli(['detect', '--input', oldPng, '--output', join(dir, 'high.png'), '--sensitivity', '1', '--json']);
    expect(JSON.parse(high.stdout).damagedPixels).toBeGreaterThan(JSON.parse(low.stdout).damagedPixels);
    const r = runCli(['detect', '--input', oldPng, '--output', join(dir, 'plain.png')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*plain\.png: damage on \d+\.\d% of the pixels \(white = to restore\)\n$/);
  });

  it.each([
    [['detect', '--output', 'X'], /^error: --input is required$/],
    [['detect', '--input', 'IN'], /^error: --output is required$/],
    [['detect', '--input', 'IN', '--output', 'X', '--sensitivity', '2'], /^error: .*sensitivity.*$/],
    [['detect', '--input', 'IN', '--output', 'X', '--sensitivity', 'high'], /^error: .*sensitivity.*$/],
    [['detect', '--input', 'missing.png', '--output', 'X'], /^error: .*missing\.png.*$/],
    [['detect', '--input', 'IN', '--output', 'IN'], /^error: .*$/],
  ])('refuses %j with one line and writes nothing', (args, message) => {
    const out = join(dir, `refused-${Math.random().toString(36).slice(2)}.png`);
    const resolved = args.map((a) => (a === 'IN' ? oldPng : a === 'X' ? out : a === 'missing.png' ? join(dir, 'missing.png') : a));
    const r = runCli(resolved);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
