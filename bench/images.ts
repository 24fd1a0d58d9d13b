/** The benchmark's images: square crops of the development photos, and synthetic masks. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { holeObserved, paintedObserved, scratchesObserved } from '../engine/photo/masks.js';
import type { Img } from '../engine/types.js';

export const PHOTO = /\.(png|jpe?g|webp|tiff?)$/i;

/** `count` photos spread evenly over the folder's sorted list (always the same ones). */
export function pickPhotos(folder: string, count: number): string[] {
  const all = readdirSync(folder)
    .filter((n) => PHOTO.test(n))
    .sort();
  if (all.length < count) throw new Error(`${folder} has ${all.length} photos, the benchmark needs ${count}`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(join(folder, all[Math.floor((i * all.length) / count)]!));
  return out;
}

/** The last `count` photos of the folder's sorted list: of data/train, those the damage detector's training held out. */
export function lastPhotos(folder: string, count: number): string[] {
  const all = readdirSync(folder)
    .filter((n) => PHOTO.test(n))
    .sort();
  if (all.length < count) throw new Error(`${folder} has ${all.length} photos, the study needs ${count}`);
  return all.slice(-count).map((n) => join(folder, n));
}

/**
 * The centred square of side min(h, w, 2 * size) of the (EXIF-oriented) photo, resized to size x
 * size (Lanczos): a scale between 1/2 and 1, inside the range of scales the model was trained on
 * (model-training/photos.py: 1/4 to 1). sRGB values / 255, planar RGB.
 */
/** The centre square of `side` native pixels (default: up to 2 x size), resized to size x size. */
export async function photoCrop(path: string, size: number, side?: number): Promise<Img> {
  const img = sharp(path).rotate();
  const meta = await sharp(path).rotate().metadata();
  const oriented = (meta.orientation ?? 1) >= 5;
  const W = oriented ? meta.height! : meta.width!;
  const H = oriented ? meta.width! : meta.height!;
  side ??= Math.min(H, W, 2 * size);
  const left = Math.floor((W - side) / 2);
  const top = Math.floor((H - side) / 2);
  const { data, info } = await img
    .extract({ left, top, width: side, height: side })
    .resize(size, size, { kernel: 'lanczos3' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) throw new Error(`unexpected crop of ${path}: ${info.width}x${info.height}x${info.channels}`);
  const n = size * size;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = data[p * 3 + c]! / 255;
  return { c: 3, h: size, w: size, data: out };
}

/** Box side: 48 pixels on crops of 128 and above (the 48x48), 3/8 of the side below. */
export function boxSide(size: number): number {
  return size >= 128 ? 48 : Math.round((3 * size) / 8);
}

export function benchObserved(kind: 'scratches' | 'box' | 'painted', size: number, seed: number): Float64Array {
  if (kind === 'painted') return paintedObserved(size, size, seed);
  return kind === 'box' ? holeObserved(size, size, boxSide(size)) : scratchesObserved(size, size, seed, 0.08);
}
