/**
 * EXIF as the TIFF structure it is: a header ('II' little-endian or 'MM' big-endian, 42, the
 * offset of IFD0), IFD0 with pointers to the Exif IFD (34665) and the GPS IFD (34853), the Exif
 * IFD with a pointer to the Interoperability IFD (40965), and IFD1 for a thumbnail.
 *
 * parseExif reads it into a tree of entries (IFD1, the thumbnail of the unrestored photo, is not
 * read); exifFor edits the tree for a restored photo (Orientation 1, the new pixel size, the
 * GPS IFD dropped on request, the tags that describe stored pixels dropped); exifBytes writes it
 * back in one byte order; addToTiff adds entries and sub-IFDs to IFD0 of a TIFF file (TIFF
 * outputs, where EXIF is part of the file's own structure). Every write lays the structure out
 * anew, as libvips does through libexif: a maker note whose inner offsets count from the start
 * of the EXIF block may be left pointing at the wrong bytes (the same is true of any EXIF editor
 * that does not know the camera maker's format).
 *
 * Input is untrusted: every offset and count is checked against the buffer, and anything malformed
 * is an ExifError, which callers treat as "no EXIF" (metadata never stops a restore).
 */

export class ExifError extends Error {}

/** One IFD entry; `value` holds the value bytes in big-endian order, or, when `verbatim`, bytes written as they are in either order. */
export interface ExifEntry {
  tag: number;
  type: number;
  count: number;
  value: Uint8Array;
  verbatim?: boolean;
}

export interface Ifd {
  entries: ExifEntry[];
  exif?: Ifd;
  gps?: Ifd;
  interop?: Ifd;
}

export const TAG = {
  imageWidth: 256,
  imageLength: 257,
  make: 271,
  model: 272,
  orientation: 274,
  dateTime: 306,
  exifIfd: 34665,
  gpsIfd: 34853,
  interopIfd: 40965,
  iptc: 33723,
  icc: 34675,
  xmp: 700,
  dateTimeOriginal: 36867,
  makerNote: 37500,
  pixelXDimension: 40962,
  pixelYDimension: 40963,
} as const;

export const TYPE = { byte: 1, ascii: 2, short: 3, long: 4, rational: 5, undefined: 7 } as const;

/** Bytes per value of each TIFF type (1 BYTE .. 13 IFD); 0 = unknown type. */
const SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
/** Bytes per byte-swapped unit: a rational is two 4-byte integers. */
const UNIT = [0, 1, 1, 2, 4, 4, 1, 1, 2, 4, 4, 4, 8, 4];

const POINTERS: Record<number, 'exif' | 'gps' | 'interop'> = { [TAG.exifIfd]: 'exif', [TAG.gpsIfd]: 'gps', [TAG.interopIfd]: 'interop' };

/** IFD0 tags that describe how a file stores its pixels, or metadata carried separately (ICC, XMP, IPTC): never copied from a source photo. */
const STORAGE_TAGS = new Set([
  254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290, 291, 292, 293, 301, 317, 318, 319, 320, 322, 323, 324, 325, 330, 332, 338, 339, 340, 341, 513, 514, 529, 530,
  531, 532, 700, 33723, 34377, 34675, 37724,
]);

const MAX_ENTRIES = 4096;

/** Converts `bytes` of type `type` between big-endian and little-endian (its own inverse). */
function swapped(bytes: Uint8Array, type: number): Uint8Array {
  const unit = UNIT[type] ?? 1;
  if (unit === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + unit <= bytes.length; i += unit) for (let k = 0; k < unit; k++) out[i + k] = bytes[i + unit - 1 - k]!;
  return out;
}

/** Reads the EXIF block (a TIFF structure, without JPEG's "Exif\0\0" prefix) or a whole TIFF file. */
export function parseExif(blob: Uint8Array): Ifd {
  if (blob.length < 8) throw new ExifError('too short');
  const order = String.fromCharCode(blob[0]!, blob[1]!);
  if (order !== 'II' && order !== 'MM') throw new ExifError('no byte order mark');
  const le = order === 'II';
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.getUint16(2, le) !== 42) throw new ExifError('not a TIFF structure');
  return readIfd(blob, view, le, view.getUint32(4, le), 0);
}

function readIfd(blob: Uint8Array, view: DataView, le: boolean, offset: number, level: number): Ifd {
  if (offset < 8 || offset + 2 > blob.length) throw new ExifError('IFD offset out of range');
  const n = view.getUint16(offset, le);
  if (n > MAX_ENTRIES || offset + 2 + 12 * n > blob.length) throw new ExifError('IFD runs past the end');
  const ifd: Ifd = { entries: [] };
  for (let i = 0; i < n; i++) {
    const at = offset + 2 + 12 * i;
    const tag = view.getUint16(at, le);
    const type = view.getUint16(at + 2, le);
    const count = view.getUint32(at + 4, le);
    const size = SIZE[type] ?? 0;
    if (size === 0) continue; // an unknown type cannot be copied faithfully
    const length = size * count;
    const start = length <= 4 ? at + 8 : view.getUint32(at + 8, le);
    if (length > blob.length || start + length > blob.length) throw new ExifError(`the value of tag ${tag} runs past the end`);
    const raw = blob.subarray(start, start + length);
    const child = POINTERS[tag];
    // Pointers are followed only where they belong: Exif and GPS from IFD0, Interop from Exif.
    const expected = level === 0 ? child === 'exif' || child === 'gps' : level === 1 && child === 'interop';
    if (child && expected && (type === TYPE.long || type === 13) && count === 1) {
      ifd[child] = readIfd(blob, view, le, view.getUint32(at + 8, le), level + 1);
      continue;
    }
    if (child) continue; // a pointer elsewhere, or malformed: dropped
    ifd.entries.push({ tag, type, count, value: le ? swapped(raw, type) : raw.slice() });
  }
  return ifd;
}

/** The value of an entry: a string for ASCII, numbers for integers, [numerator, denominator] pairs for rationals. */
export function entryValue(e: ExifEntry): string | number[] | [number, number][] {
  const view = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  switch (e.type) {
    case TYPE.ascii:
      return new TextDecoder('latin1').decode(e.value).replace(/\0.*$/s, '');
    case TYPE.short:
      return Array.from({ length: e.count }, (_, i) => view.getUint16(2 * i));
    case TYPE.long:
    case 13:
      return Array.from({ length: e.count }, (_, i) => view.getUint32(4 * i));
    case TYPE.rational:
      return Array.from({ length: e.count }, (_, i) => [view.getUint32(8 * i), view.getUint32(8 * i + 4)] as [number, number]);
    default:
      return Array.from(e.value);
  }
}

export const findEntry = (ifd: Ifd | undefined, tag: number): ExifEntry | undefined => ifd?.entries.find((e) => e.tag === tag);

function integerEntry(tag: number, type: typeof TYPE.short | typeof TYPE.long, v: number): ExifEntry {
  const value = new Uint8Array(type === TYPE.short ? 2 : 4);
  const view = new DataView(value.buffer);
  if (type === TYPE.short) view.setUint16(0, v);
  else view.setUint32(0, v);
  return { tag, type, count: 1, value };
}

/** An entry of raw bytes (type UNDEFINED), e.g. an ICC profile for a TIFF's IFD0. */
export const bytesEntry = (tag: number, bytes: Uint8Array): ExifEntry => ({ tag, type: TYPE.undefined, count: bytes.length, value: bytes });

/** Raw bytes as LONGs, padded with zeros to a multiple of 4 and never byte-swapped: how TIFF files hold IPTC (tag 33723). */
export function longBytesEntry(tag: number, bytes: Uint8Array): ExifEntry {
  const value = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  value.set(bytes);
  return { tag, type: TYPE.long, count: value.length / 4, value, verbatim: true };
}

export interface ExifOptions {
  /** The restored photo's size. */
  width: number;
  height: number;
  /** false: the GPS IFD is left out. */
  keepGps: boolean;
}

/**
 * The source photo's EXIF, as it should describe the restored one: the pixels are stored upright
 * (Orientation 1), PixelXDimension/PixelYDimension give the new size, the tags about how the
 * source stored its pixels are dropped, and the GPS IFD only when `keepGps` is false. Every other
 * entry (dates, camera, exposure, maker note, copyright) is kept as it was.
 */
export function exifFor(source: Ifd, options: ExifOptions): Ifd {
  const entries = source.entries.filter((e) => !STORAGE_TAGS.has(e.tag)).map((e) => (e.tag === TAG.orientation ? integerEntry(TAG.orientation, TYPE.short, 1) : e));
  const out: Ifd = { entries };
  if (source.exif) {
    const size = (tag: number, v: number): ExifEntry[] => (findEntry(source.exif, tag) ? [integerEntry(tag, TYPE.long, v)] : []);
    out.exif = {
      entries: [
        ...source.exif.entries.filter((e) => e.tag !== TAG.pixelXDimension && e.tag !== TAG.pixelYDimension),
        ...size(TAG.pixelXDimension, options.width),
        ...size(TAG.pixelYDimension, options.height),
      ],
      ...(source.exif.interop ? { interop: source.exif.interop } : {}),
    };
  }
  if (source.gps && options.keepGps) out.gps = source.gps;
  return out;
}

/** Entries copied verbatim from an existing IFD of the file being extended: their 4-byte value field is kept as it is. */
interface RawEntry {
  tag: number;
  record: Uint8Array;
}

/** Lays out `ifd` (entries, then values, then sub-IFDs) at absolute offset `start` (even) of a file in byte order `le`. */
function layout(ifd: Ifd, start: number, le: boolean, raw: RawEntry[] = [], next = 0): Uint8Array {
  const kids = (['exif', 'gps', 'interop'] as const).filter((k) => ifd[k]);
  const tagOf = { exif: TAG.exifIfd, gps: TAG.gpsIfd, interop: TAG.interopIfd };
  const rawTags = new Set(raw.map((r) => r.tag));
  const own = ifd.entries.filter((e) => !POINTERS[e.tag] && !rawTags.has(e.tag));
  type Slot = { tag: number; entry?: ExifEntry; raw?: Uint8Array; kid?: (typeof kids)[number] };
  const slots: Slot[] = [...raw.map((r) => ({ tag: r.tag, raw: r.record })), ...own.map((e) => ({ tag: e.tag, entry: e })), ...kids.map((k) => ({ tag: tagOf[k], kid: k }))];
  slots.sort((a, b) => a.tag - b.tag);
  let cursor = start + 2 + 12 * slots.length + 4;
  const valueAt = new Map<Slot, number>();
  for (const s of slots) {
    if (s.entry && s.entry.value.length > 4) {
      valueAt.set(s, cursor);
      cursor += s.entry.value.length + (s.entry.value.length & 1);
    }
  }
  const children: Uint8Array[] = [];
  const kidAt = new Map<string, number>();
  for (const k of kids) {
    kidAt.set(k, cursor);
    const bytes = layout(ifd[k]!, cursor, le);
    children.push(bytes);
    cursor += bytes.length;
  }
  const out = new Uint8Array(cursor - start);
  const view = new DataView(out.buffer);
  view.setUint16(0, slots.length, le);
  slots.forEach((s, i) => {
    const at = 2 + 12 * i;
    if (s.raw) {
      out.set(s.raw, at);
      return;
    }
    view.setUint16(at, s.tag, le);
    if (s.kid) {
      view.setUint16(at + 2, TYPE.long, le);
      view.setUint32(at + 4, 1, le);
      view.setUint32(at + 8, kidAt.get(s.kid)!, le);
      return;
    }
    const e = s.entry!;
    view.setUint16(at + 2, e.type, le);
    view.setUint32(at + 4, e.count, le);
    const bytes = le && !e.verbatim ? swapped(e.value, e.type) : e.value;
    const where = valueAt.get(s);
    if (where === undefined) out.set(bytes, at + 8);
    else {
      view.setUint32(at + 8, where, le);
      out.set(bytes, where - start);
    }
  });
  view.setUint32(2 + 12 * slots.length, next, le);
  kids.forEach((k, i) => out.set(children[i]!, kidAt.get(k)! - start));
  return out;
}

/** The EXIF block of `ifd0` as a TIFF structure (no "Exif\0\0" prefix), little-endian unless told. */
export function exifBytes(ifd0: Ifd, order: 'II' | 'MM' = 'II'): Uint8Array {
  const le = order === 'II';
  const body = layout(ifd0, 8, le);
  const out = new Uint8Array(8 + body.length);
  out.set([order.charCodeAt(0), order.charCodeAt(1)]);
  const view = new DataView(out.buffer);
  view.setUint16(2, 42, le);
  view.setUint32(4, 8, le);
  out.set(body, 8);
  return out;
}

/**
 * A TIFF file with `add`'s entries and sub-IFDs added to its first IFD. Tags the file already has
 * win. The new IFD0 and everything it points to are appended and the header is pointed at it; the
 * old IFD0 is left in place, unreferenced (a few hundred bytes), so no existing offset moves.
 */
export function addToTiff(file: Uint8Array, add: Ifd): Uint8Array {
  if (file.length < 8) throw new ExifError('too short');
  const order = String.fromCharCode(file[0]!, file[1]!);
  const le = order === 'II';
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if ((order !== 'II' && order !== 'MM') || view.getUint16(2, le) !== 42) throw new ExifError('not a classic TIFF file');
  const first = view.getUint32(4, le);
  if (first < 8 || first + 2 > file.length) throw new ExifError('IFD offset out of range');
  const n = view.getUint16(first, le);
  if (first + 2 + 12 * n + 4 > file.length) throw new ExifError('IFD runs past the end');
  const raw: RawEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = first + 2 + 12 * i;
    raw.push({ tag: view.getUint16(at, le), record: file.slice(at, at + 12) });
  }
  const have = new Set(raw.map((r) => r.tag));
  const next = view.getUint32(first + 2 + 12 * n, le);
  const wanted: Ifd = { ...add, entries: add.entries.filter((e) => !have.has(e.tag)) };
  for (const k of ['exif', 'gps'] as const) if (have.has(k === 'exif' ? TAG.exifIfd : TAG.gpsIfd)) delete wanted[k];
  const start = file.length + (file.length & 1);
  const ifd = layout(wanted, start, le, raw, next);
  const out = new Uint8Array(start + ifd.length);
  out.set(file);
  out.set(ifd, start);
  new DataView(out.buffer).setUint32(4, start, le);
  return out;
}
