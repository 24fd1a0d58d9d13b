/**
 * Image files in and out (PNG, JPEG, WebP, TIFF) through sharp/libvips.
 *
 * Colour: values are the sRGB-encoded samples divided by 255 or 65535; nothing is linearised. A
 * file with an embedded ICC profile is converted to sRGB on reading (lcms; the tests check that a
 * Display-P3 PNG reads back as its sRGB values, at 8 and 16 bits: sharp's working space for 16-bit
 * RGB is Display P3, so 16-bit files are brought from there to sRGB explicitly), and a file
 * without one is taken to be sRGB already. Written colour files carry libvips' sRGB ICC profile,
 * attached without converting the samples; greyscale PNG, JPEG and TIFF files (masks) carry none,
 * since an RGB profile cannot describe one channel. A file carrying that same profile is read
 * without any conversion, so a write-read round trip is exact.
 *
 * Metadata: a photo read keeps its EXIF, XMP and IPTC (ImageFile.metadata); writeImage given them
 * writes them where the format can hold them, with Orientation 1 since the pixels are stored
 * upright, and without GPS when asked (engine/photo/metadata.ts, engine/photo/exif.ts).
 */
import { freemem } from 'node:os';
import { extname } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { UserError, type Img } from '../types.js';
import { writeFileAtomic } from './atomic.js';
import { outputTarget } from './output-path.js';
import { allFinite, deinterleave, interleave, luma } from './pixels.js';
import { embedMetadata, type OutFormat, type PhotoMetadata, photoMetadata, srgbProfile, xmpFor } from './metadata.js';
import { fsReason, readRegularFile } from './regular-file.js';
import { maskFromRestoreImage } from './user-mask.js';

export interface ReadOptions {
  /** Refuse images with more pixels than this (decompression bombs). Default 100e6. */
  maxPixels?: number;
  /** 3 (default): RGB, greyscale files expanded. 1: Rec. 601 luma, exact for greyscale files. */
  channels?: 1 | 3;
  /** Bytes of memory free for decoding (default: what the system reports now). */
  availableMemory?: number;
}

export interface ImageFile {
  image: Img;
  /** Straight (not premultiplied) alpha in [0, 1], h*w, when the file has an alpha channel. */
  alpha?: Float64Array;
  bitDepth: 8 | 16;
  /** sharp's name of the decoder: 'png', 'jpeg', 'webp' or 'tiff'. */
  format: string;
  width: number;
  height: number;
  /** The file stores a single colour channel (a greyscale photo). */
  grey: boolean;
  /** EXIF, XMP and IPTC of the file, to be written with the restored photo. */
  metadata: PhotoMetadata;
}

export interface WriteOptions {
  alpha?: Float64Array;
  /** 16 is honoured for PNG and TIFF; JPEG and WebP are 8-bit formats. Default 8. */
  bitDepth?: 8 | 16;
  /** JPEG/WebP quality 1..100 (default 95; WebP 100 means lossless). Ignored for PNG/TIFF. */
  quality?: number;
  /** Paths that must never be overwritten (the CLI passes its inputs); compared by real path. */
  protect?: readonly string[];
  /** The source photo's metadata (ImageFile.metadata), written where the format can carry it. */
  metadata?: PhotoMetadata;
  /** false: the source's GPS position is not written (EXIF's GPS IFD, XMP's exif:GPS*). Default true. */
  keepGps?: boolean;
}

const READABLE = new Set(['png', 'jpeg', 'webp', 'tiff']);

const BY_EXTENSION: Record<string, OutFormat> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

/** A photo whose header has been read and checked, not yet decoded. */
export interface OpenedImage {
  /** Size after the EXIF orientation is applied (the size of the decoded image). */
  width: number;
  height: number;
  decode(): Promise<ImageFile>;
}

/**
 * Reads a photo's header and checks it before any pixel is decoded: a regular file, a known
 * format, within the pixel limit, and small enough that decoding it fits in the memory available.
 */
export async function openImage(path: string, options: ReadOptions = {}): Promise<OpenedImage> {
  const { buffer, meta } = await probe(path);
  const maxPixels = options.maxPixels ?? 100e6;
  checkPixels(path, meta, maxPixels);
  checkDecodeMemory(path, meta, options.availableMemory ?? availableMemory());
  const { width, height } = meta.autoOrient ?? meta;
  return { width, height, decode: () => decode(path, buffer, meta, options.channels ?? 3, maxPixels) };
}

export async function readImage(path: string, options: ReadOptions = {}): Promise<ImageFile> {
  return (await openImage(path, options)).decode();
}

const availableMemory = (): number => (typeof process.availableMemory === 'function' ? process.availableMemory() : freemem());

/** Bytes per pixel of a decode: libvips' interleaved output, one working copy, the float64 planes (colour and alpha). */
export function decodeBytesPerPixel(meta: Pick<Metadata, 'channels' | 'depth'>): number {
  const sample = meta.depth === 'uchar' || meta.depth === 'char' ? 1 : 2;
  const channels = Math.max(3, meta.channels ?? 3) + 1;
  return 2 * channels * sample + 8 * channels;
}

/** Refuses, before decoding, a photo whose decoded planes would not fit in three quarters of the free memory. */
function checkDecodeMemory(path: string, meta: Metadata, available: number): void {
  const need = meta.width * meta.height * decodeBytesPerPixel(meta);
  if (need > 0.75 * available) {
    const mb = (n: number): string => `${Math.round(n / 2 ** 20)} MB`;
    throw new UserError(`image ${path} is ${meta.width}x${meta.height}: decoding it needs about ${mb(need)}, but only ${mb(available)} of memory are free`);
  }
}

/**
 * Reads a person's mask image (white = restore; transparent counts as black, keep) as the engine's
 * observed weights, 1 = observed, 0 = to restore (maskFromRestoreImage: one threshold rule), or
 * with `grey` its grey levels as soft weights (the app's import, which keeps a feathered edge).
 */
export async function readMask(path: string, width: number, height: number, options: { grey?: boolean } = {}): Promise<Float64Array> {
  const { buffer, meta } = await probe(path, 'mask');
  // Compared before decoding: a mask must match the image, which already passed the pixel limit.
  const { width: mw, height: mh } = meta.autoOrient;
  if (mw !== width || mh !== height) {
    throw new UserError(`mask is ${mw}x${mh} but the image is ${width}x${height}`);
  }
  const { image, alpha } = await decode(path, buffer, meta, 1, width * height);
  // Luma and alpha as one planar grey+alpha image.
  let planes = image.data;
  if (alpha) {
    planes = new Float64Array(2 * alpha.length);
    planes.set(image.data);
    planes.set(alpha, alpha.length);
  }
  return maskFromRestoreImage({ c: alpha ? 2 : 1, h: height, w: width, data: planes }, options.grey ? 'grey' : undefined);
}

export async function writeImage(path: string, image: Img, options: WriteOptions = {}): Promise<void> {
  const { alpha, protect = [] } = options;
  const pixels = image.h * image.w;
  if ((image.c !== 1 && image.c !== 3) || image.data.length !== image.c * pixels || pixels === 0) {
    throw new Error(`writeImage: bad image shape ${image.c}x${image.h}x${image.w}`);
  }
  if (alpha && alpha.length !== pixels) throw new Error('writeImage: alpha has the wrong length');
  if (!allFinite(image.data) || (alpha && !allFinite(alpha))) {
    throw new UserError('result contains NaN or Inf');
  }
  const quality = options.quality ?? 95;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new UserError(`quality must be an integer from 1 to 100, not ${quality}`);
  }
  const format = outputFormat(path);
  const target = await checkImageOutput(path, protect);
  // JPEG has no alpha channel: the colour is written as is, alpha is dropped.
  const keptAlpha = format === 'jpeg' ? undefined : alpha;
  const encoded = await encode(image, format, keptAlpha, options.bitDepth ?? 8, quality, options.metadata ?? {}, options.keepGps ?? true);
  try {
    await writeFileAtomic(target, encoded);
  } catch (err) {
    throw new UserError(`cannot write image ${path}: ${fsReason(err, 'no such folder')}`);
  }
}

function outputFormat(path: string): OutFormat {
  const format = BY_EXTENSION[extname(path).toLowerCase()];
  if (!format) {
    const ext = extname(path) || '(none)';
    throw new UserError(`cannot write image ${path}: unknown extension '${ext}' (use .png, .jpg, .webp or .tif)`);
  }
  return format;
}

/**
 * Checks, before any work, that an image can be written at `path` (a known extension, a writable
 * folder, not one of `protect`); returns the file that will be replaced (engine/photo/output-path.ts).
 */
export async function checkImageOutput(path: string, protect: readonly string[] = []): Promise<string> {
  outputFormat(path);
  return outputTarget(path, 'image', protect);
}

/** Reads the file whole: one read serves metadata and decode, and bypasses libvips' file cache. */
async function probe(path: string, what = 'image'): Promise<{ buffer: Buffer; meta: Metadata }> {
  const buffer = await readRegularFile(path, what);
  if (buffer.length === 0) throw readError(path, 'the file is empty', what);
  let meta: Metadata;
  try {
    meta = await sharp(buffer).metadata();
  } catch (err) {
    throw readError(path, sharpReason(err), what);
  }
  // SVG, PDF, GIF etc. are not photographs; refusing them also keeps their decoders off user input.
  if (!READABLE.has(meta.format)) {
    throw readError(path, `unsupported format '${meta.format}' (expected PNG, JPEG, WebP or TIFF)`, what);
  }
  return { buffer, meta };
}

/** Checked on the header, before any pixel is decoded, so a decompression bomb costs nothing. */
function checkPixels(path: string, meta: Metadata, maxPixels: number): void {
  const count = meta.width * meta.height;
  if (count > maxPixels) {
    const mp = (n: number): string => String(Number((n / 1e6).toPrecision(3)));
    const size = `${meta.width}x${meta.height} (${mp(count)} MP)`;
    throw new UserError(`image ${path} is ${size}, above the ${mp(maxPixels)} MP limit`);
  }
}

async function decode(path: string, buffer: Buffer, meta: Metadata, channels: 1 | 3, maxPixels: number): Promise<ImageFile> {
  // 16-bit needs both toColourspace('rgb16') and depth 'ushort': the depth option alone casts the
  // already 8-bit sRGB pipeline output, losing the low byte.
  const bitDepth = meta.depth === 'uchar' || meta.depth === 'char' ? 8 : 16;
  const colour = meta.channels - (meta.hasAlpha ? 1 : 0) >= 3;
  // The profile this module writes is read as what it is, sRGB: no conversion, an exact round trip.
  const ownProfile = meta.icc !== undefined && meta.icc.equals(await srgbProfile());
  let raw: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = sharp(buffer, {
      // 'error' rather than the default 'warning': old scans often carry harmless libjpeg
      // warnings, while truncated or corrupt data is still refused.
      failOn: 'error',
      // Our header check gives the readable message; this one backs it up inside libvips.
      limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
      ignoreIcc: ownProfile,
    }).rotate(); // applies the EXIF orientation, then drops the tag
    // sharp converts a 16-bit RGB file's profile to Display P3, its 16-bit working space; from
    // there to sRGB is asked for here. Without a profile the samples are sRGB already.
    if (bitDepth === 16 && colour && meta.icc && !ownProfile) pipeline = pipeline.withIccProfile('srgb', { attach: false });
    raw = await pipeline
      .toColourspace(bitDepth === 16 ? 'rgb16' : 'srgb')
      .raw({ depth: bitDepth === 16 ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw readError(path, sharpReason(err));
  }
  const { width, height, channels: stored } = raw.info;
  const samples = bitDepth === 16 ? asUint16(raw.data) : raw.data;
  const pixels = width * height;
  const { planes, alpha } = deinterleave(samples, pixels, stored, 3, bitDepth === 16 ? 65535 : 255);
  const data = channels === 3 ? planes : toLuma(planes, pixels);
  const grey = meta.channels - (meta.hasAlpha ? 1 : 0) === 1;
  const image: Img = { c: channels, h: height, w: width, data };
  return { image, ...(alpha ? { alpha } : {}), bitDepth, format: meta.format, width, height, grey, metadata: photoMetadata(meta, buffer) };
}

/** A view when the buffer is 2-byte aligned (as sharp's are), else a copy; native byte order. */
function asUint16(bytes: Buffer): Uint16Array {
  const { buffer, byteOffset, length } = bytes;
  return byteOffset % 2 === 0 ? new Uint16Array(buffer, byteOffset, length / 2) : new Uint16Array(buffer.slice(byteOffset, byteOffset + length));
}

function toLuma(rgb: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) out[p] = luma(rgb[p]!, rgb[pixels + p]!, rgb[2 * pixels + p]!);
  return out;
}

async function encode(image: Img, format: OutFormat, alpha: Float64Array | undefined, bitDepth: 8 | 16, quality: number, metadata: PhotoMetadata, keepGps: boolean): Promise<Buffer> {
  const deep = bitDepth === 16 && (format === 'png' || format === 'tiff');
  const pixels = image.h * image.w;
  const channels = image.c + (alpha ? 1 : 0);
  const samples = deep
    ? interleave(new Uint16Array(pixels * channels), image.data, image.c, pixels, alpha, 65535)
    : interleave(new Uint8Array(pixels * channels), image.data, image.c, pixels, alpha, 255);
  const space = image.c === 1 ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb';
  let pipeline = sharp(samples, {
    raw: { width: image.w, height: image.h, channels: channels as 1 | 2 | 3 | 4 },
    limitInputPixels: false, // our own pixels, already in memory
  }).toColourspace(space);
  // WebP is always written as RGB. sharp's sRGB-to-sRGB transform of 8-bit samples is exact (the
  // round-trip tests check it); 16-bit ones it would take for Display P3, so their profile is
  // added to the encoded file instead (embedMetadata).
  const colour = image.c === 3 || format === 'webp';
  if (colour && !deep) pipeline = pipeline.withIccProfile('srgb');
  if (metadata.xmp) pipeline = pipeline.withXmp(xmpFor(metadata.xmp, keepGps));
  let encoded: Buffer;
  switch (format) {
    case 'png':
      encoded = await pipeline.png().toBuffer();
      break;
    case 'tiff':
      // sharp's default TIFF compression is JPEG, which is lossy and 8-bit only.
      encoded = await pipeline.tiff({ compression: 'deflate', predictor: 'horizontal' }).toBuffer();
      break;
    case 'jpeg':
      // 4:4:4 keeps full colour resolution; restored detail is the point of the output.
      encoded = await pipeline.jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
      break;
    case 'webp':
      encoded = await pipeline.webp({ quality, lossless: quality === 100, alphaQuality: 100 }).toBuffer();
      break;
  }
  const icc = colour && deep ? await srgbProfile() : undefined;
  return embedMetadata(encoded, format, metadata, { width: image.w, height: image.h, keepGps }, icc);
}

const readError = (path: string, reason: string, what = 'image'): UserError => new UserError(`cannot read ${what} ${path}: ${reason}`);

/** libvips messages are multi-line logs prefixed with "Input buffer"; keep the gist. */
function sharpReason(err: unknown): string {
  const msg = firstLine(err);
  if (/unsupported image format/i.test(msg)) {
    return 'not an image in a known format (PNG, JPEG, WebP, TIFF)';
  }
  if (/corrupt header/i.test(msg)) return 'the file is damaged (corrupt header)';
  if (/read error|truncated|premature end|not enough data/i.test(msg)) {
    return `the file is damaged or truncated (${msg})`;
  }
  return msg;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').trim().replace(/:$/, '') || 'unknown error';
}
