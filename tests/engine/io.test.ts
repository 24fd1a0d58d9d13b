import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../engine/photo/atomic.js';
import { readImage, readMask, writeImage } from '../../engine/photo/image.js';
import { fromRgba8, toRgba8 } from '../../engine/photo/rgba.js';
import { UserError, type Img } from '../../engine/types.js';

const root = mkdtempSync(join(tmpdir(), 'io-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
const freshDir = (): string => {
  const dir = join(root, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** Writes interleaved samples as a file through sharp directly, independent of writeImage. */
async function fixture(name: string, samples: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4, encode: (s: Sharp) => Sharp): Promise<string> {
  const path = join(freshDir(), name);
  writeFileSync(path, await encode(sharp(samples, { raw: { width, height, channels } })).toBuffer());
  return path;
}

const ramp = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

async function rejection(p: Promise<unknown>): Promise<UserError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe('readImage / writeImage round trips', () => {
  it('8-bit PNG is exact', async () => {
    const w = 7,
      h = 5;
    const data = new Float64Array(ramp(3 * w * h, (i) => ((i * 37) % 256) / 255));
    const path = join(freshDir(), 'a.png');
    await writeImage(path, { c: 3, h, w, data });
    const read = await readImage(path);
    expect([read.format, read.bitDepth, read.width, read.height, read.grey]).toEqual(['png', 8, w, h, false]);
    expect(read.alpha).toBeUndefined();
    expect(read.image.data).toEqual(data);
  });

  it('16-bit PNG keeps 16-bit precision, both from a foreign file and through writeImage', async () => {
    const w = 4,
      h = 3;
    const u16 = new Uint16Array(ramp(3 * w * h, (i) => 1000 + i * 1001));
    const path = await fixture('deep.png', u16, w, h, 3, (s) => s.toColourspace('rgb16').png());
    const read = await readImage(path);
    expect(read.bitDepth).toBe(16);
    expect(Array.from(read.image.data, (v) => Math.round(v * 65535))).toEqual(interleavedToPlanar(u16, 3));
    expect(read.image.data[0]).toBe(1000 / 65535);

    const out = join(freshDir(), 'deep-out.png');
    await writeImage(out, read.image, { bitDepth: 16 });
    const again = await readImage(out);
    expect(again.bitDepth).toBe(16);
    expect(again.image.data).toEqual(read.image.data);
  });

  it('reads JPEG', async () => {
    const w = 16,
      h = 16;
    const rgb = new Uint8Array(ramp(3 * w * h, (i) => [200, 100, 50][i % 3]!));
    const read = await readImage(await fixture('a.jpg', rgb, w, h, 3, (s) => s.jpeg({ quality: 95 })));
    expect([read.format, read.bitDepth, read.width, read.height]).toEqual(['jpeg', 8, w, h]);
    const centre = (c: number): number => read.image.data[c * w * h + 8 * w + 8]! * 255;
    expect(Math.abs(centre(0) - 200)).toBeLessThan(4);
    expect(Math.abs(centre(1) - 100)).toBeLessThan(4);
    expect(Math.abs(centre(2) - 50)).toBeLessThan(4);
  });

  it('reads lossless WebP and 8/16-bit TIFF exactly', async () => {
    const w = 5,
      h = 4;
    const rgb = new Uint8Array(ramp(3 * w * h, (i) => (i * 11) % 256));
    const planar = interleavedToPlanar(rgb, 3);
    const webp = await readImage(await fixture('a.webp', rgb, w, h, 3, (s) => s.webp({ lossless: true })));
    expect(webp.format).toBe('webp');
    expect(Array.from(webp.image.data, (v) => Math.round(v * 255))).toEqual(planar);
    const tif = await readImage(await fixture('a.tif', rgb, w, h, 3, (s) => s.tiff({ compression: 'lzw' })));
    expect([tif.format, tif.bitDepth]).toEqual(['tiff', 8]);
    expect(Array.from(tif.image.data, (v) => Math.round(v * 255))).toEqual(planar);

    const u16 = new Uint16Array(ramp(3 * w * h, (i) => 7 + i * 999));
    const deep = await fixture('deep.tif', u16, w, h, 3, (s) => s.toColourspace('rgb16').tiff({ compression: 'deflate' }));
    const tif16 = await readImage(deep);
    expect(tif16.bitDepth).toBe(16);
    expect(Array.from(tif16.image.data, (v) => Math.round(v * 65535))).toEqual(interleavedToPlanar(u16, 3));
    // and TIFF out keeps 16 bits too
    const out = join(freshDir(), 'out.tiff');
    await writeImage(out, tif16.image, { bitDepth: 16 });
    expect((await readImage(out)).image.data).toEqual(tif16.image.data);
  });

  it('applies EXIF orientation 6 (rotate 90 degrees clockwise)', async () => {
    // 32x16 stored: left half black, right half white; displayed it is 16x32, dark on top.
    const w = 32,
      h = 16;
    const rgb = new Uint8Array(ramp(3 * w * h, (i) => (Math.floor(i / 3) % w < w / 2 ? 0 : 255)));
    const path = await fixture('rot.jpg', rgb, w, h, 3, (s) => s.jpeg({ quality: 95 }).withMetadata({ orientation: 6 }));
    expect((await sharp(path).metadata()).orientation).toBe(6);
    const read = await readImage(path);
    expect([read.width, read.height]).toEqual([16, 32]);
    const at = (x: number, y: number): number => read.image.data[y * read.width + x]!;
    expect(at(8, 2)).toBeLessThan(0.1);
    expect(at(8, 29)).toBeGreaterThan(0.9);
  });

  it('keeps alpha aside and restores it on PNG write', async () => {
    const w = 3,
      h = 2;
    const alphas = [0, 64, 128, 200, 255, 1];
    const rgba = new Uint8Array(ramp(4 * w * h, (i) => (i % 4 === 3 ? alphas[i >> 2]! : (i * 29) % 256)));
    const read = await readImage(await fixture('a.png', rgba, w, h, 4, (s) => s.png()));
    expect(read.image.c).toBe(3);
    expect(Array.from(read.alpha!, (v) => Math.round(v * 255))).toEqual(alphas);
    // colour under alpha 0 is kept (straight, not premultiplied alpha)
    expect(read.image.data[0]).toBe(0);
    expect(Math.round(read.image.data[w * h]! * 255)).toBe(29);

    const out = join(freshDir(), 'b.png');
    await writeImage(out, read.image, { alpha: read.alpha! });
    expect((await sharp(out).metadata()).hasAlpha).toBe(true);
    const again = await readImage(out);
    expect(again.alpha).toEqual(read.alpha);
    expect(again.image.data).toEqual(read.image.data);
    // JPEG has no alpha: it is dropped, not an error
    await writeImage(join(freshDir(), 'c.jpg'), read.image, { alpha: read.alpha! });
  });

  it('expands a greyscale PNG to 3 equal channels, or returns the grey itself for channels 1', async () => {
    const grey = new Uint8Array([0, 50, 100, 255, 17, 128]);
    const path = await fixture('g.png', grey, 3, 2, 1, (s) => s.toColourspace('b-w').png());
    expect((await sharp(path).metadata()).channels).toBe(1);
    const read = await readImage(path);
    expect(read.grey).toBe(true);
    const n = 6;
    const expected = Array.from(grey, (v) => v / 255);
    expect(Array.from(read.image.data.subarray(0, n))).toEqual(expected);
    expect(Array.from(read.image.data.subarray(n, 2 * n))).toEqual(expected);
    expect(Array.from(read.image.data.subarray(2 * n))).toEqual(expected);
    const one = await readImage(path, { channels: 1 });
    expect(one.image.c).toBe(1);
    expect(Array.from(one.image.data)).toEqual(expected);
    // a 1-channel image writes as a greyscale file
    const out = join(freshDir(), 'g2.png');
    await writeImage(out, one.image);
    expect((await sharp(out).metadata()).channels).toBe(1);
    expect((await readImage(out, { channels: 1 })).image.data).toEqual(one.image.data);
  });

  it('converts an embedded ICC profile to sRGB, at 8 and 16 bits', async () => {
    const w = 4,
      h = 1;
    const rgb = new Uint8Array([0, 200, 40, 230, 30, 20, 20, 60, 220, 128, 128, 128]);
    // withIccProfile converts the sRGB samples to Display P3 and tags the file.
    const path = await fixture('p3.png', rgb, w, h, 3, (s) => s.withIccProfile('p3').png());
    const stored = await sharp(path, { ignoreIcc: true }).raw().toBuffer();
    expect(Math.max(...Array.from(stored, (v, i) => Math.abs(v - rgb[i]!)))).toBeGreaterThan(10);
    const read = await readImage(path);
    const planar = interleavedToPlanar(rgb, 3);
    read.image.data.forEach((v, i) => expect(Math.abs(v * 255 - planar[i]!)).toBeLessThanOrEqual(2));

    // 16 bits: the same P3 samples widened, the profile kept and nothing converted. (sharp takes
    // raw 16-bit RGB for Display P3 already, so withIccProfile('p3') on it would tag, not convert.)
    const deep = join(freshDir(), 'p3-16.png');
    await sharp(path).keepIccProfile().toColourspace('rgb16').png().toFile(deep);
    const read16 = await readImage(deep);
    expect(read16.bitDepth).toBe(16);
    // 8-bit P3 quantisation moves a near-black channel by up to ~9/255 at 16 bits
    read16.image.data.forEach((v, i) => expect(Math.abs(v * 255 - planar[i]!)).toBeLessThan(10));
  });
});

describe('refusals', () => {
  it('refuses an image above the pixel limit before decoding', async () => {
    const path = await fixture('big.png', new Uint8Array(3 * 20 * 10), 20, 10, 3, (s) => s.png());
    const err = await rejection(readImage(path, { maxPixels: 100 }));
    expect(err.message).toBe(`image ${path} is 20x10 (0.0002 MP), above the 0.0001 MP limit`);
    expect((await readImage(path, { maxPixels: 200 })).width).toBe(20);
  });

  it('gives a clear UserError for random bytes, a truncated PNG, an empty or missing file, SVG', async () => {
    const dir = freshDir();
    const random = join(dir, 'random.png');
    writeFileSync(random, Buffer.from(ramp(500, (i) => (i * 7919 + 13) % 256)));
    expect((await rejection(readImage(random))).message).toBe(`cannot read image ${random}: not an image in a known format (PNG, JPEG, WebP, TIFF)`);

    const noise = new Uint8Array(ramp(3 * 64 * 64, (i) => (i * 31) % 256));
    const good = await fixture('good.png', noise, 64, 64, 3, (s) => s.png());
    const bytes = readFileSync(good);
    const truncated = join(dir, 'truncated.png');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect((await rejection(readImage(truncated))).message).toMatch(new RegExp(`^cannot read image ${escape(truncated)}: the file is damaged`));

    const empty = join(dir, 'empty.png');
    writeFileSync(empty, '');
    expect((await rejection(readImage(empty))).message).toBe(`cannot read image ${empty}: the file is empty`);
    const missing = join(dir, 'missing.png');
    expect((await rejection(readImage(missing))).message).toBe(`cannot read image ${missing}: no such file`);
    const svg = join(dir, 'a.svg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
    expect((await rejection(readImage(svg))).message).toMatch(/unsupported format 'svg'/);
  });

  it('refuses a NaN or Inf result and writes nothing', async () => {
    const dir = freshDir();
    const path = join(dir, 'nan.png');
    const data = new Float64Array(12).fill(0.5);
    data[5] = NaN;
    expect((await rejection(writeImage(path, { c: 3, h: 2, w: 2, data }))).message).toBe('result contains NaN or Inf');
    const alpha = new Float64Array([1, 1, Infinity, 1]);
    await rejection(writeImage(path, { c: 3, h: 2, w: 2, data: data.fill(0.5) }, { alpha }));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an unknown extension', async () => {
    const path = join(freshDir(), 'out.bmp');
    const err = await rejection(writeImage(path, grey(2, 2)));
    expect(err.message).toMatch(/unknown extension '\.bmp'/);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to overwrite a protected input, also through a symlink or a relative path', async () => {
    const input = await fixture('in.png', new Uint8Array(ramp(12, (i) => i * 20)), 2, 2, 3, (s) => s.png());
    const before = readFileSync(input);
    const dir = freshDir();
    const link = join(dir, 'link.png');
    symlinkSync(input, link);
    // written out by hand: join() would normalise the '..' away
    const viaDots = `${dir}/../${input.split('/').slice(-2).join('/')}`;
    for (const target of [input, link, viaDots]) {
      const err = await rejection(writeImage(target, grey(2, 2), { protect: [input] }));
      expect(err.message).toMatch(/refusing to overwrite the input/);
    }
    // protection listed through the link protects the file itself
    await rejection(writeImage(input, grey(2, 2), { protect: [link] }));
    expect(readFileSync(input).equals(before)).toBe(true);
    await writeImage(join(dir, 'other.png'), grey(2, 2), { protect: [input] });
  });

  it('refuses a mask of another size', async () => {
    const path = await fixture('m.png', new Uint8Array(100 * 80), 100, 80, 1, (s) => s.toColourspace('b-w').png());
    expect((await rejection(readMask(path, 120, 90))).message).toBe('mask is 100x80 but the image is 120x90');
  });
});

describe('readMask', () => {
  it('reads white as to restore (observed weight 0): luma times alpha above 0.5, transparent counting as black', async () => {
    // white, black, 127, 128, white with alpha 0, white with alpha 200, red (luma 76)
    const rgba = [
      [255, 255, 255, 255],
      [0, 0, 0, 255],
      [127, 127, 127, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 0],
      [255, 255, 255, 200],
      [255, 0, 0, 255],
    ].flat();
    const path = await fixture('mask.png', new Uint8Array(rgba), 7, 1, 4, (s) => s.png());
    expect(Array.from(await readMask(path, 7, 1))).toEqual([0, 1, 1, 0, 1, 0, 1]);
  });
});

describe('atomic writes', () => {
  it('leaves only the target behind, also when overwriting', async () => {
    const dir = freshDir();
    const path = join(dir, 'out.png');
    await writeImage(path, grey(3, 3, 0.2));
    await writeImage(path, grey(3, 3, 0.8));
    expect(readdirSync(dir)).toEqual(['out.png']);
    expect((await readImage(path, { channels: 1 })).image.data[0]).toBe(204 / 255);
    await writeFileAtomic(join(dir, 'x.json'), '{"a":1}');
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('{"a":1}');
    expect(readdirSync(dir).sort()).toEqual(['out.png', 'x.json']);
  });

  it('cleans its temporary file when the final rename fails', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'occupied.json'));
    writeFileSync(join(dir, 'occupied.json', 'keep'), '');
    await expect(writeFileAtomic(join(dir, 'occupied.json'), 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['occupied.json']);
    const err = await rejection(writeImage(join(dir, 'nowhere', 'a.png'), grey(2, 2)));
    expect(err.message).toMatch(/^cannot write image .*: the folder .*nowhere does not exist$/);
  });
});

describe('RGBA preview helpers', () => {
  it('round-trips through 8-bit RGBA', () => {
    // planar R = (0, 1), G = (0.5, 1.2), B = (-1, 0.25): clamped and rounded
    const img: Img = { c: 3, h: 1, w: 2, data: new Float64Array([0, 1, 0.5, 1.2, -1, 0.25]) };
    const rgba = toRgba8(img, new Float64Array([1, 0.5]));
    expect(Array.from(rgba)).toEqual([0, 128, 0, 255, 255, 255, 64, 128]);
    const back = fromRgba8(rgba, 2, 1);
    expect(Array.from(back.image.data, (v) => Math.round(v * 255))).toEqual([0, 255, 128, 255, 0, 64]);
    expect(Array.from(back.alpha!, (v) => Math.round(v * 255))).toEqual([255, 128]);
    expect(fromRgba8(toRgba8(grey(2, 1, 0.4)), 2, 1).alpha).toBeUndefined();
    expect(Array.from(toRgba8(grey(1, 1, 0.4)))).toEqual([102, 102, 102, 255]);
  });
});

function grey(w: number, h: number, v = 0.5): Img {
  return { c: 1, h, w, data: new Float64Array(w * h).fill(v) };
}

function interleavedToPlanar(samples: ArrayLike<number>, channels: number): number[] {
  const pixels = samples.length / channels;
  return ramp(samples.length, (i) => samples[(i % pixels) * channels + Math.floor(i / pixels)]!);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
