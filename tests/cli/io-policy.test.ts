/**
 * The CLI's input and output policy end to end: outputs are checked before any work, every output
 * of degrade before any is written, alpha survives every task, an empty mask is an error, and a
 * job estimated above --max-minutes is refused before its photo is decoded.
 */
import { existsSync, mkdtempSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST, runCli } from './run-cli.js';

const run = runCli;

let dir: string;
let rgba: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-io-policy-'));
  rgba = join(dir, 'rgba.png');
  const px = Buffer.alloc(12 * 10 * 4);
  for (let i = 0; i < 120; i++) px.set([(i * 7) % 256, (i * 13) % 256, 90, i < 60 ? 255 : 40], 4 * i);
  await sharp(px, { raw: { width: 12, height: 10, channels: 4 } })
    .png()
    .toFile(rgba);
});

describe('CLI input and output policy', () => {
  it('keeps alpha for super-resolution, upscaled with the image', async () => {
    const out = join(dir, 'sr.png');
    const r = run(['restore', '--task', 'sr', '--scale', '2', '--input', rgba, '--output', out, ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([24, 20, 4]);
    // Rows 0-9 of the result come from input rows 0-4 (opaque), rows 12-19 from rows 6-9 (alpha 40).
    expect(data[3]).toBe(255);
    expect(data[(19 * 24 + 23) * 4 + 3]).toBe(40);
  });

  it('checks the output before loading the model or reading the photo', () => {
    const r = run(['restore', '--task', 'denoise', '--input', join(dir, 'missing.png'), '--output', join(dir, 'out.gif'), '--model', join(dir, 'no-model')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot write image ${join(dir, 'out.gif')}: unknown extension '.gif' (use .png, .jpg, .webp or .tif)`);
  });

  it('degrade writes nothing when its mask output cannot be written', () => {
    const out = join(dir, 'measured.png');
    const r = run(['degrade', '--task', 'inpaint', '--input', rgba, '--output', out, '--mask-out', join(dir, 'no-folder', 'mask.png')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot write image .*mask\.png: the folder .*no-folder does not exist$/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an all-black mask with a clear line', async () => {
    const mask = join(dir, 'black.png');
    await sharp({ create: { width: 12, height: 10, channels: 3, background: '#000' } })
      .png()
      .toFile(mask);
    const r = run(['restore', '--task', 'inpaint', '--input', rgba, '--mask', mask, '--output', join(dir, 'x.png'), ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: the mask ${mask} is empty: it marks no pixel to restore (white = restore)`);
  });

  it('writes through a symbolic link to an existing file and keeps the link', async () => {
    const target = join(dir, 'target.png');
    writeFileSync(target, 'to be replaced');
    symlinkSync(target, join(dir, 'link.png'));
    const r = run(['restore', '--task', 'denoise', '--sigma-y', '0.05', '--input', rgba, '--output', join(dir, 'link.png'), ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(dir, 'link.png'))).toBe(target);
    expect((await sharp(target).metadata()).width).toBe(12);
  });

  it('refuses a job estimated above --max-minutes, with the estimate and how to lift the limit', () => {
    const before = readdirSync(dir).length;
    const r = run(['restore', '--task', 'denoise', '--sigma-y', '0.05', '--input', rgba, '--output', join(dir, 'slow.png'), ...FAST, '--max-minutes', '1e-7']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: this job would take about 1 s \(\d+ network calls on each of 1 solve, 0\.0 MP solved\), above the limit of 1 s \(--max-minutes 1e-7\); pass --max-minutes 1 to run it anyway, or choose --preset fast or a smaller image$/,
    );
    expect(readdirSync(dir).length).toBe(before);
  });
});
