/** A folder of photos as a batch reads it: the CLI's `vmlmap batch` and the app's batch panel list it the same way. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../types.js';
import { fsReason } from './regular-file.js';

/** The file names a batch takes for photos. */
export const PHOTO_NAME = /\.(png|jpe?g|webp|tiff?)$/i;
/** A batch's output formats and the extension each writes. */
export const OUTPUT_EXTENSION = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif' } as const;

/**
 * The photos of a folder: image files by extension, not hidden, regular (links followed), in name
 * order, those `skip` rejects left out; subfolders are not read. None is an error.
 */
export async function listPhotoFolder(folder: string, skip: (name: string, path: string) => boolean = () => false): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (err) {
    throw new UserError(`cannot list ${folder}: ${fsReason(err, 'no such folder')}`);
  }
  const files: string[] = [];
  for (const name of names) {
    if (name.startsWith('.') || !PHOTO_NAME.test(name)) continue;
    const path = join(folder, name);
    if (skip(name, path)) continue;
    if ((await stat(path).catch(() => null))?.isFile()) files.push(path);
  }
  if (!files.length) throw new UserError(`no photos (PNG, JPEG, WebP, TIFF) in ${folder}`);
  return files;
}
