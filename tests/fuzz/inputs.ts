/**
 * Bad and odd files for the fuzz suite, made fresh in a folder: damaged and hostile images,
 * masks, kernel files, and things that are not files at all (folders, FIFOs, links).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { Rng } from '../../engine/solvers/common.js';

const chunk = (type: string, data: Buffer): Buffer => {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
};

/** A PNG whose header claims width x height; `rows` zero rows of pixel data follow (a bomb when claimed large). */
export function pngClaiming(width: number, height: number, rows = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(rows * (width + 1));
  const parts = [Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
  if (rows > 0) parts.push(chunk('IDAT', deflateSync(raw)));
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function noiseRgb(w: number, h: number, seed: number, channels = 3): Buffer {
  const rng = new Rng(seed);
  const px = Buffer.alloc(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = Math.floor(256 * rng.uniform());
  return px;
}

const raw = (w: number, h: number, channels: 1 | 2 | 3 | 4, seed = 1) => sharp(noiseRgb(w, h, seed, channels), { raw: { width: w, height: h, channels } });

/** Writes the fixtures into `dir` and returns their paths by name. */
export async function makeInputs(dir: string, bigBomb: boolean): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true });
  const p = (name: string): string => join(dir, name);
  const files: Record<string, string> = {};
  const put = (name: string, data: Buffer | string): void => {
    writeFileSync(p(name), data);
    files[name] = p(name);
  };
  const img = async (name: string, pipeline: Sharp): Promise<void> => {
    await pipeline.toFile(p(name));
    files[name] = p(name);
  };

  await img('photo.png', raw(24, 16, 3));
  const photo = (await sharp(files['photo.png']).png().toBuffer()) as Buffer;
  const jpeg = await raw(24, 16, 3).jpeg().toBuffer();
  put('empty.png', '');
  put('random.png', noiseRgb(300, 1, 2));
  put('truncated.png', photo.subarray(0, Math.floor(photo.length / 2)));
  put('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const flipped = Buffer.from(photo);
  for (let i = 60; i < flipped.length - 20; i += 7) flipped[i] ^= 0x5a;
  put('corrupt-idat.png', flipped);
  put('text.png', 'this is not an image\n');
  put('claims-huge.png', pngClaiming(100_000, 100_000));
  put('claims-101mp.png', pngClaiming(10_050, 10_050, 1));
  put('claims-zero.png', pngClaiming(0, 0));
  put('gif.gif', Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
  put('svg.png', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>');
  await img('one-pixel.png', raw(1, 1, 3));
  await img('row.png', raw(300, 1, 3));
  await img('column.png', raw(1, 300, 3));
  await img('odd.png', raw(7, 5, 3));
  await img('grey.png', raw(24, 16, 1));
  await img('grey-alpha.png', raw(24, 16, 2));
  await img('rgba.png', raw(24, 16, 4));
  await img('deep.png', raw(24, 16, 3).toColourspace('rgb16').png());
  await img('palette.png', raw(24, 16, 3).png({ palette: true, colours: 4 }));
  await img('cmyk.jpg', raw(24, 16, 3).toColourspace('cmyk').jpeg());
  await img('rotated.jpg', raw(24, 16, 3).jpeg().withMetadata({ orientation: 6 }));
  await img('photo.webp', raw(24, 16, 3).webp());
  await img('photo.tif', raw(24, 16, 3).tiff());
  await img('black-mask.png', sharp({ create: { width: 24, height: 16, channels: 3, background: '#000' } }).png());
  await img('white-mask.png', sharp({ create: { width: 24, height: 16, channels: 3, background: '#fff' } }).png());
  await img('clear-mask.png', sharp({ create: { width: 24, height: 16, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png());
  await img('small-mask.png', sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png());
  await img('noise-mask.png', raw(24, 16, 1, 5));
  await img('deep-mask.png', raw(24, 16, 1, 6).toColourspace('grey16').png());
  if (bigBomb) {
    // 100 MP exactly (the pixel limit): a few hundred KB on disk, gigabytes decoded.
    await img('bomb-100mp.png', sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#808080' } }).png({ compressionLevel: 9 }));
  }

  put('k-empty.txt', '');
  put('k-text.txt', 'one two\nthree four\n');
  put('k-ragged.txt', '1 2 3\n4 5\n');
  put('k-zero-sum.txt', '1 -1\n-1 1\n');
  put('k-negative.txt', '-1 -2\n-3 -4\n');
  put('k-nan.txt', '1 NaN\n1 1\n');
  put('k-inf.txt', '1 Infinity\n1 1\n');
  put('k-huge-values.txt', '1e308 1e308\n1e308 1e308\n');
  put('k-one.txt', '1\n');
  put('k-big.txt', Array.from({ length: 201 }, () => Array(201).fill('1').join(' ')).join('\n'));
  put('k-too-large-file.txt', '1 '.repeat(700_000));
  put('k-binary.txt', noiseRgb(64, 64, 9));

  mkdirSync(p('folder.png'));
  files['folder.png'] = p('folder.png');
  execFileSync('mkfifo', [p('fifo.png')]);
  files['fifo.png'] = p('fifo.png');
  symlinkSync('loop-b.png', p('loop-a.png'));
  symlinkSync('loop-a.png', p('loop-b.png'));
  files['loop.png'] = p('loop-a.png');
  symlinkSync('missing-target.png', p('dangling.png'));
  files['dangling.png'] = p('dangling.png');
  symlinkSync('photo.png', p('photo-link.png'));
  files['photo-link.png'] = p('photo-link.png');
  return files;
}
