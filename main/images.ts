/**
 * The files the user has opened, each behind an unguessable token. The renderer only ever sees
 * tokens and the URL that serves a token; the image protocol serves registered files and nothing
 * else, so a compromised page cannot read arbitrary paths through it. A registered file is known
 * by its identity (device and inode) as well as its path: if the path later names another file
 * (the photo replaced by a symlink, say), it is no longer served (docs/SECURITY.md). Main reads
 * headers only; a photo Chromium cannot show (TIFF) is decoded by the inference service.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { MAX_PIXELS, type OpenedImage } from '../common/api.js';
import { type FileIdentity, identityOf, readSameFile, sameIdentity } from '../common/file-identity.js';
import { MAX_FILE_BYTES } from '../engine/photo/regular-file.js';
import { UserError } from '../engine/types.js';

export interface Registered extends OpenedImage {
  path: string;
  format: string;
  /** Opened from bytes (paste, a drag from a browser) into a temporary file. */
  temporary: boolean;
  /** The file the path named when it was opened (followed through symlinks). */
  identity: FileIdentity;
  /**
   * A result made the photo being restored (Use result as input): the file the chain of passes
   * started from, and how many passes made this one. Exports are named after and kept beside the
   * origin, which they never overwrite without asking.
   */
  derived?: { origin: Pick<Registered, 'path' | 'name' | 'temporary' | 'bitDepth'>; pass: number };
}

/**
 * A PNG display copy of a registered photo Chromium cannot show (TIFF), made by the inference
 * service after it has checked the file's identity itself. Throws FileChangedError when the path
 * no longer leads to the file that was opened, a UserError (one line for a person) otherwise.
 */
export type DisplayCopy = (e: Registered) => Promise<Uint8Array>;

/** Formats Chromium shows as they are; anything else (TIFF) is shown from a PNG display copy. */
const SHOWN_AS_IS: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const READABLE = new Set(['png', 'jpeg', 'webp', 'tiff']);
/** Older registrations are forgotten; the renderer shows one image (and maybe a mask) at a time. */
const KEEP = 16;

export class ImageRegistry {
  private readonly byId = new Map<string, Registered>();

  /**
   * @param urlFor how the renderer addresses a token (app-image://image/<id> in Electron).
   * @param displayCopy how a TIFF gets shown (the backend asks the inference service).
   */
  constructor(
    private readonly urlFor: (id: string) => string,
    private readonly displayCopy: DisplayCopy = noDisplayCopy,
  ) {}

  /** @param displayName shown instead of the file's name (pasted images live in temporary files). */
  async register(path: string, temporary = false, displayName?: string): Promise<Registered> {
    const name = displayName ?? basename(path);
    const fileStat = async (): Promise<BigIntStats> => {
      try {
        const st = await stat(path, { bigint: true });
        if (!st.isFile()) throw new UserError(`cannot open ${name}: it is not a file`);
        return st;
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`cannot open ${name}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file no longer exists' : (e as Error).message}`);
      }
    };
    const st = await fileStat();
    if (st.size > BigInt(MAX_FILE_BYTES)) throw new UserError(`cannot open ${name}: the file is larger than 1 GB`);
    let meta: Metadata;
    try {
      // Header only: no pixel is decoded here (that happens in the service when a job runs).
      meta = await sharp(path).metadata();
    } catch {
      throw new UserError(`cannot open ${name}: not an image in a known format (PNG, JPEG, WebP, TIFF)`);
    }
    if (!READABLE.has(meta.format)) throw new UserError(`cannot open ${name}: unsupported format '${meta.format}' (PNG, JPEG, WebP or TIFF)`);
    // The engine applies EXIF orientation when it reads the photo; the mask must match that size.
    const { width, height } = meta.autoOrient ?? meta;
    if (!width || !height) throw new UserError(`cannot open ${name}: the image has no size`);
    if (width * height > MAX_PIXELS) {
      throw new UserError(`cannot open ${name}: ${width}x${height} is above the ${MAX_PIXELS / 1e6} megapixel limit`);
    }
    // The header read above came from the file whose identity is kept only if nothing swapped it.
    const identity = identityOf(st);
    if (!sameIdentity(identity, identityOf(await fileStat()))) throw new UserError(`cannot open ${name}: the file changed while it was being opened`);
    const id = randomBytes(16).toString('base64url');
    const entry: Registered = {
      id,
      name,
      url: this.urlFor(id),
      width,
      height,
      hasAlpha: meta.hasAlpha ?? false,
      bitDepth: meta.depth === 'ushort' || meta.depth === 'short' ? 16 : 8,
      path,
      format: meta.format,
      temporary,
      identity,
    };
    this.byId.set(id, entry);
    while (this.byId.size > KEEP) this.byId.delete(this.byId.keys().next().value!);
    return entry;
  }

  get(id: string): Registered | undefined {
    return this.byId.get(id);
  }

  /** The public part of an entry, safe to send to the renderer (no path). */
  static view(e: Registered): OpenedImage {
    const { id, name, url, width, height, hasAlpha, bitDepth } = e;
    return { id, name, url, width, height, hasAlpha, bitDepth };
  }

  /**
   * Bytes and type for the image protocol, or undefined for an unknown token. Throws
   * FileChangedError when the path no longer leads to the file that was opened, and a UserError
   * when a display copy could not be made.
   */
  async serve(id: string): Promise<{ body: Uint8Array; type: string } | undefined> {
    const e = this.byId.get(id);
    if (!e) return undefined;
    const type = SHOWN_AS_IS[e.format];
    if (type) return { body: await readSameFile(e.path, e.identity, e.name), type };
    return { body: await this.displayCopy(e), type: 'image/png' };
  }

  /** Whether the entry's path still leads to the file that was opened (a job reads it by path). */
  async unchanged(e: Registered): Promise<boolean> {
    try {
      const st = await stat(e.path, { bigint: true });
      return st.isFile() && sameIdentity(e.identity, identityOf(st));
    } catch {
      return false;
    }
  }
}

async function noDisplayCopy(e: Registered): Promise<never> {
  throw new UserError(`cannot show ${e.name}: no service to decode it`);
}

/** Token from an image URL path such as "/<token>"; anything else is not a token. */
export function tokenFromPath(pathname: string): string | undefined {
  const m = /^\/([A-Za-z0-9_-]{16,64})$/.exec(pathname);
  return m?.[1];
}
