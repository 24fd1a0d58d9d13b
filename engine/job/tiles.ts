/**
 * Tile geometry (docs/TILING.md): how far each task's operator reaches, how an axis is cut into
 * overlapping tiles, and the cross-fade weights that blend them.
 *
 * Along one axis the image [0, L) is cut at points 0 = b_0 < b_1 < ... < b_n = L into CORES. Tile i
 * KEEPS [b_i - O/2, b_{i+1} + O/2) (clipped to the image) and SOLVES the WINDOW that extends the
 * kept interval by the margin m on each side (clipped). Its blend weight is 1 on the core away
 * from the cuts and a raised-cosine ramp of width O across each interior cut, the neighbour's ramp
 * being exactly 1 minus it, so the weights of all tiles sum to 1 at every pixel (a partition of
 * unity) and the blended image needs no weight buffer.
 *
 * The margin is the operator's support plus the network's context. With it, the tile operator (the
 * task's operator on the window, with the engine's symmetric boundary at the window's edges) gives
 * exactly (A x) restricted to every measurement whose support lies inside the window; the only
 * measurements it models differently are within `support` of an interior window edge, at least
 * `context` pixels away from anything the tile keeps.
 */
import { kernelFromSpec } from '../operators/kernels.js';
import type { TaskSpec } from '../tasks.js';
import { UserError } from '../types.js';

export interface OperatorReach {
  /** How many pixels (of the restored image) a measurement reaches beyond its own position. */
  support: number;
  /** Tiles must start and end on multiples of this (the super-resolution factor, else 1). */
  align: number;
}

export function operatorReach(spec: TaskSpec): OperatorReach {
  switch (spec.task) {
    case 'old-photo':
    case 'deblur': {
      // An old photo without a blur reaches no further than its mask and luma: one pixel each.
      if (spec.task === 'old-photo' && !spec.kernel) return { support: 0, align: 1 };
      if (!spec.kernel) throw new UserError('deblurring needs a blur kernel (gaussian, motion or matrix)');
      const k = kernelFromSpec(spec.kernel);
      const r = (n: number): number => Math.max(n >> 1, n - 1 - (n >> 1));
      return { support: Math.max(r(k.h), r(k.w)), align: 1 };
    }
    case 'sr': {
      const s = spec.scale ?? 2;
      // Box: a low-resolution pixel is the mean of its own aligned s x s block. Bicubic: its taps
      // reach less than 2s high-resolution pixels from its centre (bicubic-downsample.ts).
      return { support: spec.srKernel === 'box' ? 0 : 2 * s, align: s };
    }
    default:
      // denoise (identity), inpaint (mask), colorize (luma): one measurement per pixel.
      return { support: 0, align: 1 };
  }
}

/** [start, end) */
export interface Interval {
  start: number;
  end: number;
}

export interface AxisTile {
  core: Interval;
  kept: Interval;
  window: Interval;
  /** Blend weight at every position of `kept`. */
  weights: Float64Array;
}

export const roundUpTo = (v: number, a: number): number => Math.ceil(v / a) * a;
const roundTo = (v: number, a: number): number => Math.round(v / a) * a;

/**
 * Raised-cosine ramp over [c - O/2, c + O/2): the weight of the tile whose core starts at c. The
 * tile whose core ends at c uses 1 minus this, so the two sum to 1.
 */
function rampUp(p: number, cut: number, overlap: number): number {
  const t = (p - (cut - overlap / 2) + 0.5) / overlap;
  const s = Math.sin((Math.PI / 2) * t);
  return s * s;
}

/** Cut points b_0 = 0 < ... < b_n = L (multiples of `align`, except L). */
function cutPoints(L: number, T: number, margin: number, overlap: number, align: number): number[] {
  if (L <= T) return [0, L];
  const h = overlap / 2 + margin;
  const inner = T - 2 * h; // core length of a tile with neighbours on both sides
  const edge = T - h; // core length of a tile at an image edge
  const minCore = Math.max(overlap, align, 1);
  if (inner < minCore) throw new RangeError(`tile ${T} too small for margin ${margin} and overlap ${overlap}`);
  const n = 2 + Math.max(0, Math.ceil((L - 2 * edge) / inner));
  // Equal windows: edge cores are longer by h than inner cores, (n - 2) c + 2 (c + h) = L.
  const c = (L - 2 * h) / n;
  const cuts = [0];
  for (let i = 1; i < n; i++) cuts.push(roundTo(c + h + (i - 1) * c, align));
  cuts.push(L);
  for (let i = 1; i <= n; i++) {
    if (cuts[i] - cuts[i - 1] < minCore) throw new RangeError(`cannot cut ${L} into tiles of ${T} with margin ${margin} and overlap ${overlap}`);
  }
  return cuts;
}

/**
 * The tiles along one axis of length L: windows of at most T pixels (up to `align` more after
 * rounding), margin m and cross-fade width O (both multiples of `align`, O even).
 */
export function splitAxis(L: number, T: number, margin: number, overlap: number, align = 1): AxisTile[] {
  const cuts = cutPoints(L, T, margin, overlap, align);
  const n = cuts.length - 1;
  const half = overlap / 2;
  const tiles: AxisTile[] = [];
  for (let i = 0; i < n; i++) {
    const core = { start: cuts[i], end: cuts[i + 1] };
    const kept = { start: i > 0 ? core.start - half : 0, end: i < n - 1 ? core.end + half : L };
    const window = { start: Math.max(0, kept.start - margin), end: Math.min(L, kept.end + margin) };
    const weights = new Float64Array(kept.end - kept.start);
    for (let p = kept.start; p < kept.end; p++) {
      let w = 1;
      if (i > 0 && p < core.start + half) w = rampUp(p, core.start, overlap);
      else if (i < n - 1 && p >= core.end - half) w = 1 - rampUp(p, core.end, overlap);
      weights[p - kept.start] = w;
    }
    tiles.push({ core, kept, window, weights });
  }
  return tiles;
}

export interface Tile {
  index: number;
  rows: AxisTile;
  cols: AxisTile;
}

/** Every tile of an h x w image (row-major order). */
export function tileGrid(h: number, w: number, tileH: number, tileW: number, margin: number, overlap: number, align = 1): Tile[] {
  const rows = splitAxis(h, tileH, margin, overlap, align);
  const cols = splitAxis(w, tileW, margin, overlap, align);
  const tiles: Tile[] = [];
  for (const r of rows) for (const c of cols) tiles.push({ index: tiles.length, rows: r, cols: c });
  return tiles;
}

/** The smallest tile side that the margin and overlap allow (a core of at least 2 O). */
export function minTileSide(margin: number, overlap: number, align = 1): number {
  return roundUpTo(2 * margin + 3 * Math.max(overlap, align), align);
}
