/**
 * vmlmap restore keeps the photo's metadata (engine/photo/metadata.ts): a JPEG shot sideways
 * (EXIF Orientation 6) comes out upright with Orientation 1, its date, camera and GPS kept, GPS
 * dropped with --strip-gps; 16-bit PNG and TIFF stay 16-bit; the input is never changed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTags } from '../engine/exif-reader.js';
import { FAST, runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmlmap-metadata-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Stored 32x16, left half black and right half white; shown upright (rotated 90 degrees
// clockwise) it is 16x32 with the black half on top.
const W = 32;
const H = 16;
let sideways: string;

beforeAll(async () => {
  const px = Buffer.alloc(W * H * 3);
  for (let i = 0; i < W * H; i++) px.fill(i % W < W / 2 ? 0 : 255, 3 * i, 3 * i + 3);
  sideways = join(dir, 'sideways.jpg');
  await sharp(px, { raw: { width: W, height: H, channels: 3 } })
    .withExif({ IFD0: { Make: 'Acme', Model: 'Box Camera', Orientation: '6' }, IFD2: { DateTimeOriginal: '1971:02:03 04:05:06' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 3230/100' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 95 })
    .toFile(sideways);
  expect((await sharp(sideways).metadata()).orientation).toBe(6);
});

const restore = (input: string, output: string, ...extra: string[]) => runCli(['restore', '--task', 'denoise', '--sigma-y', '0.02', '--input', input, '--output', output, ...FAST, ...extra]);

describe('restore keeps metadata', () => {
  it('orientation 6 in: upright pixels, Orientation 1 out; date, camera and GPS kept; the input untouched', async () => {
    const before = readFileSync(sideways);
    const out = join(dir, 'upright.jpg');
    const r = restore(sideways, out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(sideways).equals(before)).toBe(true);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([H, W, 1]);
    const tags = readTags(meta.exif!);
    expect([undefined, 1]).toContain(tags.get('ifd0.274'));
    expect([tags.get('ifd0.271'), tags.get('ifd0.272'), tags.get('exif.36867'), tags.get('gps.1')]).toEqual(['Acme', 'Box Camera', '1971:02:03 04:05:06', 'N']);
    expect(meta.icc?.includes(Buffer.from('\0s\0R\0G\0B', 'latin1'))).toBe(true);
    // upright: dark on top, light at the bottom (autoOrient would turn it again if the tag were left)
    const { data } = await sharp(out).greyscale().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number): number => data[y * H + x]!;
    expect(at(8, 3)).toBeLessThan(60);
    expect(at(8, 28)).toBeGreaterThan(200);
  });

  it('--strip-gps drops the GPS IFD and keeps the date and camera', async () => {
    for (const ext of ['jpg', 'png', 'webp', 'tif']) {
      const out = join(dir, `nogps.${ext}`);
      const r = restore(sideways, out, '--strip-gps');
      expect(r.code, r.stderr).toBe(0);
      const tags = ext === 'tif' ? readTags(readFileSync(out)) : readTags((await sharp(out).metadata()).exif!);
      expect(
        [...tags.keys()].filter((k) => k.startsWith('gps.') || k === 'ifd0.34853'),
        ext,
      ).toEqual([]);
      expect([tags.get('exif.36867'), tags.get('ifd0.271')], ext).toEqual(['1971:02:03 04:05:06', 'Acme']);
    }
  });

  it('16-bit PNG and TIFF in give 16-bit out', async () => {
    const u16 = Uint16Array.from({ length: 24 * 16 * 3 }, (_, i) => (i * 2039 + 17) % 65536);
    for (const ext of ['png', 'tif']) {
      const input = join(dir, `deep-in.${ext}`);
      const s = sharp(u16, { raw: { width: 24, height: 16, channels: 3 } }).toColourspace('rgb16');
      writeFileSync(input, await (ext === 'png' ? s.png() : s.tiff({ compression: 'deflate' })).toBuffer());
      const out = join(dir, `deep-out.${ext}`);
      const r = restore(input, out);
      expect(r.code, r.stderr).toBe(0);
      const meta = await sharp(out).metadata();
      expect([meta.depth, meta.width, meta.height], ext).toEqual(['ushort', 24, 16]);
    }
  });
});
