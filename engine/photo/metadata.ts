/**
 * A photo's metadata, carried from the file it was read from to the restored file: EXIF (date
 * taken, camera, exposure, GPS unless asked not to), XMP and IPTC, and the sRGB ICC profile that
 * every written colour photo carries (its pixels are sRGB: engine/photo/image.ts).
 *
 * What each format carries, as written here (tests/engine/metadata.test.ts):
 *
 * | format | EXIF | XMP | IPTC | ICC |
 * |---|---|---|---|---|
 * | JPEG | APP1 (up to 64 KB; a larger block loses its maker note, then the whole EXIF) | sharp | APP13 | sharp |
 * | PNG  | eXIf chunk | sharp (iTXt) | none: PNG has no standard place for it | sharp (8-bit), iCCP chunk (16-bit) |
 * | WebP | EXIF chunk | sharp | none: WebP has no place for it | sharp |
 * | TIFF | Exif and GPS IFDs, camera tags in IFD0 | sharp (tag 700) | tag 33723 | sharp (8-bit), tag 34675 (16-bit) |
 *
 * sharp writes EXIF only as key/value strings (withExif) and not at all into TIFF, writes no
 * IPTC, and with withIccProfile('srgb') converts 16-bit pixels from Display P3 (its working space
 * for 16-bit RGB) to sRGB instead of tagging them; so EXIF, IPTC and 16-bit profiles are added to
 * the encoded file here, chunk by chunk, and the pixels are never touched.
 *
 * The pixels are stored upright, so EXIF Orientation is written as 1 and XMP's tiff:Orientation
 * too. A source's thumbnail (EXIF IFD1) shows the unrestored photo and is not copied.
 */
import sharp, { type Metadata } from 'sharp';
import { deflateSync } from 'node:zlib';
import { addToTiff, bytesEntry, ExifError, exifBytes, exifFor, findEntry, type Ifd, longBytesEntry, parseExif, TAG } from './exif.js';

export interface PhotoMetadata {
  /** The source's EXIF (IFD1, the thumbnail, is not read). */
  exif?: Ifd;
  /** The source's XMP packet. */
  xmp?: string;
  /** The source's IPTC-IIM datasets, without Photoshop's resource wrapping. */
  iptc?: Uint8Array;
}

export interface MetadataOptions {
  /** The restored photo's size. */
  width: number;
  height: number;
  /** false: GPS position left out of EXIF and XMP. Default true. */
  keepGps?: boolean;
}

export type OutFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1');
const PHOTOSHOP = Buffer.from('Photoshop 3.0\0', 'latin1');

/**
 * What of the metadata sharp read from a file (and the file itself, for TIFF, whose EXIF is its
 * own IFD0) can be carried to a restored copy. Malformed parts are left out, never an error.
 */
export function photoMetadata(meta: Metadata, file: Uint8Array): PhotoMetadata {
  const out: PhotoMetadata = {};
  try {
    if (meta.exif?.length) {
      const blob = meta.exif.subarray(0, 6).equals(EXIF_PREFIX) ? meta.exif.subarray(6) : meta.exif;
      out.exif = parseExif(blob);
    } else if (meta.format === 'tiff') {
      out.exif = parseExif(file);
    }
  } catch (err) {
    if (!(err instanceof ExifError)) throw err;
  }
  if (meta.xmp?.length) out.xmp = meta.xmp.toString('utf8');
  const iptc = meta.iptc && iptcRecords(meta.iptc);
  if (iptc?.length) out.iptc = iptc;
  return out;
}

/** The length of the IPTC-IIM datasets at the start of `data` (a TIFF's are padded to 4 bytes). */
function datasetsLength(data: Uint8Array): number {
  let at = 0;
  while (at + 5 <= data.length && data[at] === 0x1c) {
    let size = (data[at + 3]! << 8) | data[at + 4]!;
    let head = 5;
    if (size & 0x8000) {
      // extended dataset: the next (size & 0x7fff) bytes hold the length
      const n = size & 0x7fff;
      if (n > 4 || at + 5 + n > data.length) break;
      size = 0;
      for (let k = 0; k < n; k++) size = size * 256 + data[at + 5 + k]!;
      head += n;
    }
    if (at + head + size > data.length) break;
    at += head + size;
  }
  return at;
}

/** IPTC datasets from what libvips reads: raw datasets (TIFF) or Photoshop's image resources (JPEG APP13), resource 0x0404. */
export function iptcRecords(data: Uint8Array): Uint8Array | undefined {
  if (data[0] === 0x1c) {
    const n = datasetsLength(data);
    return n ? data.subarray(0, n) : undefined;
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let at = buf.subarray(0, PHOTOSHOP.length).equals(PHOTOSHOP) ? PHOTOSHOP.length : 0;
  const parts: Uint8Array[] = [];
  while (at + 12 <= buf.length && buf.toString('latin1', at, at + 4) === '8BIM') {
    const id = buf.readUInt16BE(at + 4);
    const nameLength = buf[at + 6]!;
    const sizeAt = at + 6 + ((nameLength + 2) & ~1);
    if (sizeAt + 4 > buf.length) break;
    const size = buf.readUInt32BE(sizeAt);
    const start = sizeAt + 4;
    if (start + size > buf.length) break;
    if (id === 0x0404) parts.push(buf.subarray(start, start + size));
    at = start + size + (size & 1);
  }
  return parts.length ? Buffer.concat(parts) : undefined;
}

/** Photoshop's APP13 payload holding `iptc` as resource 0x0404. */
function photoshopIptc(iptc: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.write('8BIM', 0, 'latin1');
  head.writeUInt16BE(0x0404, 4);
  // an empty name: one length byte, padded to two
  head.writeUInt32BE(iptc.length, 8);
  return Buffer.concat([PHOTOSHOP, head, iptc, Buffer.alloc(iptc.length & 1)]);
}

/** The XMP packet for the restored photo: tiff:Orientation 1 and, unless kept, no exif:GPS* properties. */
export function xmpFor(xmp: string, keepGps: boolean): string {
  let out = xmp.replace(/(\btiff:Orientation\s*=\s*["'])\s*\d+\s*(["'])/g, '$11$2').replace(/(<tiff:Orientation>)\s*\d+\s*(<\/tiff:Orientation>)/g, '$11$2');
  if (!keepGps) {
    out = out
      .replace(/\s+exif:GPS\w*\s*=\s*(?:"[^"]*"|'[^']*')/g, '')
      .replace(/<exif:(GPS\w*)\b[^>]*\/>/g, '')
      .replace(/<exif:(GPS\w*)\b[^>]*>[\s\S]*?<\/exif:\1>/g, '');
  }
  return out;
}

let srgb: Promise<Buffer> | undefined;

/** The sRGB ICC profile libvips ships (sharp's withIccProfile('srgb')), read once. */
export function srgbProfile(): Promise<Buffer> {
  srgb ??= sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then(async (png) => {
      const { icc } = await sharp(png).metadata();
      if (!icc) throw new Error('sharp wrote no sRGB profile');
      return icc;
    });
  return srgb;
}

/** Largest JPEG marker segment payload. */
const SEGMENT_MAX = 65533;

/** The EXIF block for a restored photo, or undefined when there is none to write. */
function exifBlock(metadata: PhotoMetadata, options: MetadataOptions, fit = Infinity): Uint8Array | undefined {
  if (!metadata.exif) return undefined;
  let ifd = exifFor(metadata.exif, { width: options.width, height: options.height, keepGps: options.keepGps ?? true });
  let blob = exifBytes(ifd);
  if (blob.length > fit && ifd.exif && findEntry(ifd.exif, TAG.makerNote)) {
    ifd = { ...ifd, exif: { ...ifd.exif, entries: ifd.exif.entries.filter((e) => e.tag !== TAG.makerNote) } };
    blob = exifBytes(ifd);
  }
  return blob.length <= fit && ifd.entries.length + (ifd.exif ? 1 : 0) + (ifd.gps ? 1 : 0) > 0 ? blob : undefined;
}

/**
 * Adds the source's EXIF and IPTC, and `icc` when given (16-bit PNG and TIFF), to a file sharp
 * encoded. XMP and 8-bit profiles are sharp's (image.ts asks for them when encoding).
 */
export function embedMetadata(encoded: Buffer, format: OutFormat, metadata: PhotoMetadata, options: MetadataOptions, icc?: Uint8Array): Buffer {
  switch (format) {
    case 'jpeg':
      return embedJpeg(encoded, exifBlock(metadata, options, SEGMENT_MAX - EXIF_PREFIX.length), metadata.iptc);
    case 'png':
      return embedPng(encoded, exifBlock(metadata, options), icc);
    case 'webp':
      return embedWebp(encoded, exifBlock(metadata, options));
    case 'tiff':
      return embedTiff(encoded, metadata, options, icc);
  }
}

function segment(marker: number, payload: Uint8Array): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/** EXIF in APP1 and IPTC in APP13, after SOI and JFIF's APP0. */
function embedJpeg(jpeg: Buffer, exif: Uint8Array | undefined, iptc: Uint8Array | undefined): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('embedJpeg: not a JPEG');
  let at = 2;
  while (jpeg[at] === 0xff && jpeg[at + 1] === 0xe0) at += 2 + jpeg.readUInt16BE(at + 2);
  const parts: Buffer[] = [];
  if (exif) parts.push(segment(0xe1, Buffer.concat([EXIF_PREFIX, exif])));
  const ps = iptc && photoshopIptc(iptc);
  if (ps && ps.length <= SEGMENT_MAX) parts.push(segment(0xed, ps));
  if (!parts.length) return jpeg;
  return Buffer.concat([jpeg.subarray(0, at), ...parts, jpeg.subarray(at)]);
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** The chunks of a PNG: [type, start, end) of each, the signature excluded. */
function pngChunks(png: Buffer): { type: string; start: number; end: number }[] {
  const chunks: { type: string; start: number; end: number }[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const end = at + 12 + png.readUInt32BE(at);
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), start: at, end });
    at = end;
  }
  return chunks;
}

/** iCCP after IHDR (when the file has no colour chunk of its own), eXIf before the image data. */
function embedPng(png: Buffer, exif: Uint8Array | undefined, icc: Uint8Array | undefined): Buffer {
  const chunks = pngChunks(png);
  const ihdr = chunks.find((c) => c.type === 'IHDR');
  const idat = chunks.find((c) => c.type === 'IDAT');
  if (!ihdr || !idat) throw new Error('embedPng: not a PNG');
  const hasColour = chunks.some((c) => c.type === 'iCCP' || c.type === 'sRGB');
  const iccp = icc && !hasColour ? pngChunk('iCCP', Buffer.concat([Buffer.from('sRGB\0\0', 'latin1'), deflateSync(icc)])) : undefined;
  const exifChunk = exif && pngChunk('eXIf', exif);
  if (!iccp && !exifChunk) return png;
  return Buffer.concat([png.subarray(0, ihdr.end), ...(iccp ? [iccp] : []), png.subarray(ihdr.end, idat.start), ...(exifChunk ? [exifChunk] : []), png.subarray(idat.start)]);
}

/** The EXIF chunk before XMP (or last), flagged in VP8X; a simple WebP without VP8X is left as it is. */
function embedWebp(webp: Buffer, exif: Uint8Array | undefined): Buffer {
  if (webp.toString('latin1', 0, 4) !== 'RIFF' || webp.toString('latin1', 8, 12) !== 'WEBP') throw new Error('embedWebp: not a WebP');
  if (!exif || webp.toString('latin1', 12, 16) !== 'VP8X') return webp;
  let at = 12;
  let insert = webp.length;
  while (at + 8 <= webp.length) {
    const type = webp.toString('latin1', at, at + 4);
    if (type === 'EXIF') return webp; // already has one
    if (type === 'XMP ') {
      insert = at;
      break;
    }
    const size = webp.readUInt32LE(at + 4);
    at += 8 + size + (size & 1);
  }
  const chunk = Buffer.alloc(8 + exif.length + (exif.length & 1));
  chunk.write('EXIF', 0, 'latin1');
  chunk.writeUInt32LE(exif.length, 4);
  chunk.set(exif, 8);
  const out = Buffer.concat([webp.subarray(0, insert), chunk, webp.subarray(insert)]);
  out.writeUInt32LE(out.length - 8, 4);
  out[20] = out[20]! | 0x08; // VP8X flags: EXIF present
  return out;
}

/** ComponentsConfiguration, CompressedBitsPerPixel, PixelXDimension, PixelYDimension. */
const TIFF_EXCLUDED = new Set([0x9101, 0x9102, TAG.pixelXDimension, TAG.pixelYDimension]);

/** IFD0 of the TIFF gains the camera tags, the Exif and GPS IFDs, IPTC and the 16-bit profile. */
function embedTiff(tiff: Buffer, metadata: PhotoMetadata, options: MetadataOptions, icc: Uint8Array | undefined): Buffer {
  const exif = metadata.exif ? exifFor(metadata.exif, { width: options.width, height: options.height, keepGps: options.keepGps ?? true }) : { entries: [] };
  // The size and component layout of compressed data: EXIF leaves them out of TIFF files.
  if (exif.exif) exif.exif = { ...exif.exif, entries: exif.exif.entries.filter((e) => !TIFF_EXCLUDED.has(e.tag)) };
  const add: Ifd = {
    ...exif,
    entries: [...exif.entries, ...(metadata.iptc ? [longBytesEntry(TAG.iptc, metadata.iptc)] : []), ...(icc ? [bytesEntry(TAG.icc, icc)] : [])],
  };
  if (!add.entries.length && !add.exif && !add.gps) return tiff;
  return Buffer.from(addToTiff(tiff, add));
}
