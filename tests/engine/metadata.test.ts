/**
 * Metadata kept on export (engine/photo/metadata.ts, engine/photo/exif.ts): EXIF, XMP and IPTC of
 * a source photo written with the restored pixels in JPEG, PNG, WebP and TIFF, an sRGB profile on
 * every colour output, Orientation 1, GPS dropped on request, 16 bits kept. Sources are made by
 * sharp (its withExif/withXmp) and IPTC by hand; what is written is read back with sharp and the
 * small EXIF reader below, which shares no code with the writer.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryValue, ExifError, exifBytes, findEntry, parseExif, TAG } from '../../engine/photo/exif.js';
import { readImage, writeImage } from '../../engine/photo/image.js';
import { iptcRecords, xmpFor } from '../../engine/photo/metadata.js';
import { readTags } from './exif-reader.js';

const root = mkdtempSync(join(tmpdir(), 'metadata-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = (ext: string): string => join(root, `f${n++}.${ext}`);

/** The EXIF tags of a written file: sharp's EXIF block, or for TIFF the file's own IFDs. */
async function tagsOf(path: string): Promise<Map<string, string | number>> {
  const meta = await sharp(path).metadata();
  if (meta.format === 'tiff') return readTags(readFileSync(path));
  return meta.exif ? readTags(meta.exif) : new Map();
}

const XMP = `<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" tiff:Orientation="6" exif:GPSLatitude="51,30.5N"><dc:creator><rdf:Seq><rdf:li>Jane Roe</rdf:li></rdf:Seq></dc:creator><exif:GPSLongitude>0,7.7W</exif:GPSLongitude></rdf:Description></rdf:RDF></x:xmpmeta>`;
const EXIF = {
  IFD0: { Make: 'Acme', Model: 'Box Camera' },
  IFD2: { DateTimeOriginal: '1971:02:03 04:05:06' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 3230/100' },
};
/** IPTC-IIM: record version 4, caption "Hello". */
const IIM = Buffer.from([0x1c, 2, 0, 0, 2, 0, 4, 0x1c, 2, 120, 0, 5, ...Buffer.from('Hello')]);

/** JPEG with `iim` in an APP13 Photoshop resource 0x0404 right after SOI, built by hand. */
function withIptc(jpeg: Buffer, iim: Buffer): Buffer {
  const resource = Buffer.concat([Buffer.from('8BIM'), Buffer.from([4, 4, 0, 0]), Buffer.alloc(4), iim, Buffer.alloc(iim.length & 1)]);
  resource.writeUInt32BE(iim.length, 8);
  const payload = Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), resource]);
  const head = Buffer.from([0xff, 0xed, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), head, payload, jpeg.subarray(2)]);
}

const W = 24;
const H = 16;
const gradient = (w: number, h: number): Buffer =>
  Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (i % 3 === 0 ? (Math.floor(i / 3) % w) * 10 : i % 3 === 1 ? Math.floor(i / 3 / w) * 15 : 90)));

let source: string;
let srgbIcc: Buffer;

beforeAll(async () => {
  const jpeg = await sharp(gradient(W, H), { raw: { width: W, height: H, channels: 3 } })
    .withExif(EXIF)
    .withXmp(XMP)
    .jpeg({ quality: 95 })
    .toBuffer();
  source = file('jpg');
  writeFileSync(source, withIptc(jpeg, IIM));
  // Independently of the module: the profile sharp attaches for 'srgb'.
  const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('srgb')
    .jpeg()
    .toBuffer();
  srgbIcc = (await sharp(tagged).metadata()).icc!;
});

describe('the source photo', () => {
  it('has what the tests expect to be carried', async () => {
    const meta = await sharp(source).metadata();
    const tags = readTags(meta.exif!);
    expect([tags.get('ifd0.271'), tags.get('exif.36867'), tags.get('gps.1')]).toEqual(['Acme', '1971:02:03 04:05:06', 'N']);
    expect(meta.iptc?.includes('Hello')).toBe(true);
    expect(meta.xmp?.toString()).toContain('Jane Roe');
  });
});

describe('writeImage with the source metadata', () => {
  const carries = { jpg: { iptc: true }, png: { iptc: false }, webp: { iptc: false }, tif: { iptc: true } } as const;
  for (const [ext, can] of Object.entries(carries)) {
    it(`${ext}: EXIF (date, make, GPS), XMP, ${can.iptc ? 'IPTC' : 'no IPTC (the format has no place for it)'}, an sRGB profile, Orientation 1`, async () => {
      const read = await readImage(source);
      const out = file(ext);
      await writeImage(out, read.image, { metadata: read.metadata });
      const tags = await tagsOf(out);
      expect(tags.get('ifd0.271')).toBe('Acme');
      expect(tags.get('ifd0.272')).toBe('Box Camera');
      expect(tags.get('exif.36867')).toBe('1971:02:03 04:05:06');
      expect(tags.get('gps.1')).toBe('N');
      expect(tags.get('gps.2')).toBe('present');
      expect([undefined, 1]).toContain(tags.get('ifd0.274'));
      const meta = await sharp(out).metadata();
      expect(meta.orientation ?? 1).toBe(1);
      expect(meta.icc?.equals(srgbIcc)).toBe(true);
      // an RGB display profile whose description (UTF-16BE) is "sRGB"
      expect(meta.icc!.toString('latin1', 12, 20)).toBe('mntrRGB ');
      expect(meta.icc!.includes(Buffer.from('\0s\0R\0G\0B', 'latin1'))).toBe(true);
      const xmp = meta.xmp!.toString();
      expect(xmp).toContain('Jane Roe');
      expect(xmp).toContain('tiff:Orientation="1"');
      expect(xmp).not.toContain('tiff:Orientation="6"');
      if (can.iptc) expect(meta.iptc && Buffer.from(iptcRecords(meta.iptc)!).toString('latin1')).toContain('Hello');
      else expect(meta.iptc).toBeUndefined();
      // The pixels are what they were: attaching the profile converted nothing.
      if (ext !== 'jpg' && ext !== 'webp') expect((await readImage(out)).image.data).toEqual(read.image.data);
      // and what was written reads back as metadata to carry on (a second pass)
      const again = await readImage(out);
      expect(entryValue(findEntry(again.metadata.exif, TAG.make)!)).toBe('Acme');
    });
  }

  it('keepGps false drops the GPS IFD and XMP GPS, and keeps the date and camera', async () => {
    const read = await readImage(source);
    for (const ext of ['jpg', 'png', 'webp', 'tif']) {
      const out = file(ext);
      await writeImage(out, read.image, { metadata: read.metadata, keepGps: false });
      const tags = await tagsOf(out);
      expect(
        [...tags.keys()].filter((k) => k.startsWith('gps.')),
        ext,
      ).toEqual([]);
      expect(tags.has('ifd0.34853'), ext).toBe(false);
      expect(tags.get('exif.36867'), ext).toBe('1971:02:03 04:05:06');
      expect(tags.get('ifd0.271'), ext).toBe('Acme');
      const xmp = (await sharp(out).metadata()).xmp!.toString();
      expect(xmp, ext).not.toMatch(/GPS/);
      expect(xmp, ext).toContain('Jane Roe');
    }
  });

  it('writes the restored size into PixelXDimension/PixelYDimension and no thumbnail', async () => {
    const read = await readImage(source);
    const tall = { c: 3, h: 2 * H, w: W, data: new Float64Array(3 * 2 * H * W).fill(0.5) };
    const out = file('jpg');
    await writeImage(out, tall, { metadata: read.metadata });
    const tags = await tagsOf(out);
    expect([tags.get('exif.40962'), tags.get('exif.40963')]).toEqual([W, 2 * H]);
    const blob = (await sharp(out).metadata()).exif!.subarray(6);
    const le = blob.toString('latin1', 0, 2) === 'II';
    const ifd0 = le ? blob.readUInt32LE(4) : blob.readUInt32BE(4);
    const count = le ? blob.readUInt16LE(ifd0) : blob.readUInt16BE(ifd0);
    const next = le ? blob.readUInt32LE(ifd0 + 2 + 12 * count) : blob.readUInt32BE(ifd0 + 2 + 12 * count);
    expect(next).toBe(0);
  });

  it('16-bit PNG and TIFF in give 16-bit out, with the sRGB profile and the exact samples', async () => {
    const u16 = Uint16Array.from({ length: W * H * 3 }, (_, i) => (i * 2039 + 17) % 65536);
    for (const ext of ['png', 'tif']) {
      const input = file(ext);
      const s = sharp(u16, { raw: { width: W, height: H, channels: 3 } }).toColourspace('rgb16');
      await (ext === 'png' ? s.png() : s.tiff({ compression: 'deflate' })).toFile(input);
      const read = await readImage(input);
      expect(read.bitDepth).toBe(16);
      const out = file(ext);
      await writeImage(out, read.image, { bitDepth: read.bitDepth, metadata: read.metadata });
      const meta = await sharp(out).metadata();
      expect([meta.depth, meta.icc?.equals(srgbIcc)], ext).toEqual(['ushort', true]);
      const stored = await sharp(out, { ignoreIcc: true }).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
      expect(Array.from(new Uint16Array(stored.buffer, stored.byteOffset, stored.length / 2)), ext).toEqual(Array.from(u16));
      expect((await readImage(out)).image.data, ext).toEqual(read.image.data);
    }
  });

  it('a greyscale output (a mask) stays one channel and carries no profile', async () => {
    const out = file('png');
    await writeImage(out, { c: 1, h: 4, w: 4, data: new Float64Array(16).fill(1) });
    const meta = await sharp(out).metadata();
    expect([meta.channels, meta.icc]).toEqual([1, undefined]);
  });

  it('a TIFF source gives its camera tags and Exif IFD to a JPEG', async () => {
    const read = await readImage(source);
    const tif = file('tif');
    await writeImage(tif, read.image, { metadata: read.metadata });
    const fromTiff = await readImage(tif);
    const out = file('jpg');
    await writeImage(out, fromTiff.image, { metadata: fromTiff.metadata });
    const tags = await tagsOf(out);
    expect([tags.get('ifd0.271'), tags.get('exif.36867'), tags.get('gps.1')]).toEqual(['Acme', '1971:02:03 04:05:06', 'N']);
    // the TIFF's own storage tags (strips, compression, bits per sample) are not EXIF
    expect([tags.has('ifd0.273'), tags.has('ifd0.259'), tags.has('ifd0.258')]).toEqual([false, false, false]);
    expect(Buffer.from(iptcRecords((await sharp(out).metadata()).iptc!)!).toString('latin1')).toContain('Hello');
  });
});

describe('reading colour right at 16 bits', () => {
  it('a 16-bit Display-P3 PNG reads as its sRGB values, like the 8-bit one', async () => {
    const rgb = Buffer.from([0, 200, 40, 230, 30, 20, 20, 60, 220, 128, 128, 128]);
    const p3 = await sharp(rgb, { raw: { width: 4, height: 1, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    // The same P3 samples widened to 16 bits, the profile kept and nothing converted.
    const p3deep = file('png');
    await sharp(p3).keepIccProfile().toColourspace('rgb16').png().toFile(p3deep);
    const stored = await sharp(p3deep, { ignoreIcc: true }).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    const storedMax = Math.max(...Array.from(new Uint16Array(stored.buffer, stored.byteOffset, 12), (v, i) => Math.abs(v / 257 - rgb[i]!)));
    expect(storedMax).toBeGreaterThan(40); // the file really holds P3 values
    const read = await readImage(p3deep);
    expect(read.bitDepth).toBe(16);
    // planar read against interleaved rgb; 8-bit P3 quantisation moves near-black channels by up to ~9/255
    for (let c = 0; c < 3; c++) for (let p = 0; p < 4; p++) expect(Math.abs(read.image.data[c * 4 + p]! * 255 - rgb[p * 3 + c]!)).toBeLessThan(10);
  });
});

describe('exif.ts and the XMP edits', () => {
  it('keeps values through a big-endian block written little-endian', () => {
    const ifd = parseExif(exifBytes({ entries: [], exif: { entries: [{ tag: TAG.dateTimeOriginal, type: 2, count: 20, value: Buffer.from('2001:02:03 04:05:06\0') }] } }, 'MM'));
    const tags = readTags(
      exifBytes(
        {
          entries: [
            { tag: TAG.orientation, type: 3, count: 1, value: Buffer.from([0, 3]) },
            { tag: 282, type: 5, count: 1, value: Buffer.from([0, 0, 1, 44, 0, 0, 0, 1]) },
          ],
          exif: ifd.exif,
        },
        'II',
      ),
    );
    expect([tags.get('ifd0.274'), tags.get('exif.36867')]).toEqual([3, '2001:02:03 04:05:06']);
    const back = parseExif(exifBytes({ entries: [{ tag: 282, type: 5, count: 1, value: Buffer.from([0, 0, 1, 44, 0, 0, 0, 1]) }] }, 'II'));
    expect(entryValue(back.entries[0]!)).toEqual([[300, 1]]);
  });

  it('a photo whose EXIF is malformed is read and written, without EXIF', async () => {
    const jpeg = await sharp(gradient(8, 8), { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg()
      .toBuffer();
    // IFD0 said to be far past the end of the block
    const bad = Buffer.concat([Buffer.from('Exif\0\0II*\0', 'latin1'), Buffer.from([0xff, 0xff, 0, 0]), Buffer.alloc(8)]);
    const head = Buffer.from([0xff, 0xe1, 0, 0]);
    head.writeUInt16BE(bad.length + 2, 2);
    const path = file('jpg');
    writeFileSync(path, Buffer.concat([jpeg.subarray(0, 2), head, bad, jpeg.subarray(2)]));
    const read = await readImage(path);
    expect(read.metadata.exif).toBeUndefined();
    const out = file('jpg');
    await writeImage(out, read.image, { metadata: read.metadata });
    expect((await sharp(out).metadata()).exif).toBeUndefined();
  });

  it('rejects truncated and looping structures with an ExifError, never a crash', () => {
    const good = exifBytes({ entries: [{ tag: TAG.make, type: 2, count: 9, value: Buffer.from('Acme Co.\0') }], exif: { entries: [] } });
    for (let cut = 0; cut < good.length; cut++) {
      try {
        parseExif(good.subarray(0, cut));
      } catch (e) {
        expect(e, `cut at ${cut}`).toBeInstanceOf(ExifError);
      }
    }
    // an Exif pointer back to IFD0 is read as a sub-IFD once, not followed forever
    const loop = Buffer.from(exifBytes({ entries: [], exif: { entries: [] } }));
    loop.writeUInt32LE(8, 8 + 2 + 8);
    expect(() => parseExif(loop)).not.toThrow();
  });

  it('xmpFor: orientation 1 in attribute and element form; GPS properties removed only on request', () => {
    const element = '<tiff:Orientation>8</tiff:Orientation><exif:GPSAltitude>12/1</exif:GPSAltitude>';
    expect(xmpFor(element, true)).toBe('<tiff:Orientation>1</tiff:Orientation><exif:GPSAltitude>12/1</exif:GPSAltitude>');
    expect(xmpFor(element, false)).toBe('<tiff:Orientation>1</tiff:Orientation>');
    expect(xmpFor(XMP, false)).not.toMatch(/GPS/);
    expect(xmpFor(XMP, true)).toContain('exif:GPSLatitude="51,30.5N"');
  });
});
