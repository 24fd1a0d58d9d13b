/**
 * Position-keyed noise for tiled jobs. Every standard normal a solver draws is a pure function of
 * (seed, draw index, channel, global row, global column): a counter-based generator, so a pixel's
 * noise is the same whichever tile (or inpainting window) it is solved in, and overlapping tiles
 * start from, and re-noise with, identical values where they overlap.
 *
 * The hash is Chris Wellons' "lowbias32" integer finaliser (bijective on 32 bits, bias ~0.17 on
 * his avalanche measure), chained over the key words with distinct salts; two independent 32-bit
 * words per sample give the uniforms of a Box-Muller transform (cosine branch only). The
 * statistics are checked in tests/engine/tiling-noise.test.ts (moments, neighbour, channel and
 * draw correlations, tiling independence).
 */
import type { NoiseSource } from '../solvers/common.js';

/** lowbias32: a 32-bit integer hash with good avalanche; returns an unsigned 32-bit value. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;

/** The key of one draw of one seed. */
export function drawKey(seed: number, draw: number): number {
  return mix32(mix32((seed >>> 0) ^ 0x243f6a88) ^ mix32((draw >>> 0) + 0x13198a2e));
}

/** The standard normal at (channel c, row y, column x) of the draw with key `key`. */
export function fieldNormal(key: number, c: number, y: number, x: number): number {
  const row = mix32(mix32(key ^ mix32(c + 0x03707344)) ^ mix32(y ^ 0xa4093822));
  return normalAt(row, x);
}

function normalAt(rowKey: number, x: number): number {
  const a = mix32(rowKey ^ mix32(2 * x + 0x299f31d0));
  const b = mix32(rowKey ^ mix32(2 * x + 0x299f31d1));
  const u1 = (a + 0.5) * INV_2_32; // in (0, 1): never 0
  const u2 = b * INV_2_32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
}

/** Where a tile sits in the full image: its shape and the global position of its top-left pixel. */
export interface TileRegion {
  c: number;
  h: number;
  w: number;
  /** Global row and column of the tile's pixel (0, 0). */
  y0: number;
  x0: number;
}

/** The draw-th field of `seed` over a region, planar CHW. */
export function fieldNormals(seed: number, draw: number, r: TileRegion): Float64Array {
  const out = new Float64Array(r.c * r.h * r.w);
  const key = drawKey(seed, draw);
  let k = 0;
  for (let c = 0; c < r.c; c++) {
    const ck = mix32(key ^ mix32(c + 0x03707344));
    for (let i = 0; i < r.h; i++) {
      const row = mix32(ck ^ mix32((r.y0 + i) ^ 0xa4093822));
      for (let j = 0; j < r.w; j++) out[k++] = normalAt(row, r.x0 + j);
    }
  }
  return out;
}

/**
 * A solver's noise for one tile: the i-th call of normals() returns draw i of the global field
 * over this tile. Solvers draw whole images in a fixed order, so draw i means the same thing in
 * every tile.
 */
export class FieldNoise implements NoiseSource {
  private draws = 0;

  constructor(
    readonly seed: number,
    readonly region: TileRegion,
  ) {}

  normals(n: number): Float64Array {
    const { c, h, w } = this.region;
    if (n !== c * h * w) throw new Error(`FieldNoise: asked for ${n} values over a ${c}x${h}x${w} tile`);
    return fieldNormals(this.seed, this.draws++, this.region);
  }
}
