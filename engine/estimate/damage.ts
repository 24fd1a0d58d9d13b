/**
 * Damage on a photo from the photo itself: thin scratches, dust specks and small blotches, light or
 * dark, on colour or greyscale photos, through grain. A mask of the damaged pixels, 1 = damaged
 * (the engine's observed weights are 1 - damaged; engine/photo/user-mask.ts turns it into a
 * person's mask).
 *
 * Per pixel, 16 classical features of the luminance (FEATURE_NAMES): its residuals from medians of
 * 3x3, 5x5 and 7x7 and from a coarse median (on the photo box-averaged by 1/128 of its short side),
 * each over the local spread of the residual (the median |r| of 16 x 16 blocks, times 1.4826, at
 * least the noise level of noise-level.ts), so that grain and texture set the scale; the largest
 * and smallest mean of that z along segments of about 15 px in 12 orientations (scratches); its
 * range and mean over 3x3 and 5x5 neighbourhoods (specks); the texture and noise levels, the grey
 * level, the raw contrast and the strength of the photo's own edges. A small MLP (16 -> 12 -> 8 ->
 * 1, damage-weights.ts) turns them into a probability of damage, trained by
 * model-training/train_damage.py on synthetic damage (engine/synthetic/old-photo.ts) over the
 * training photos only (bench/damage-data.ts); a pixel is damaged above a threshold that the
 * sensitivity moves. The photo is processed in tiles of 704 px with 32 px margins, which gives
 * the same features as the whole photo at once (the spread's blocks and the segments are laid on
 * the photo's grid), with memory bounded whatever its size.
 *
 * Chosen by measurement over a classical detector on the same residuals (hysteresis on z, no
 * classifier; F1 0.78 against 0.85) and a small CNN (not trained to convergence on this CPU, and
 * too slow here without onnxruntime); docs/ALGORITHM.md, "Damage detection";
 * bench/studies/damage-detection.ts.
 */
import { LUMA_WEIGHTS } from '../operators/luma.js';
import { type Img, UserError } from '../types.js';
import { areaClosing } from './area-closing.js';
import { FEATURES, HIGH, LAYERS, LOW, MEAN, STD } from './damage-weights.js';
import { estimateNoiseLevel } from './noise-level.js';

export interface DamageOptions {
  /** 0..1, default 0.5: higher finds fainter damage and more false alarms. */
  sensitivity?: number;
}

export interface DamageResult {
  /** h*w, 1 where the photo looks damaged. */
  damaged: Uint8Array;
  /** Fraction of the pixels marked. */
  fraction: number;
}

/** Rec. 601 luma of a colour image, the mean of the channels otherwise. */
export function luminance(image: Img): Float64Array {
  const { c, h, w, data } = image;
  const hw = h * w;
  const out = new Float64Array(hw);
  if (c === 3) {
    const [wr, wg, wb] = LUMA_WEIGHTS;
    for (let p = 0; p < hw; p++) out[p] = wr * data[p] + wg * data[hw + p] + wb * data[2 * hw + p];
  } else {
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) out[p] += data[ch * hw + p] / c;
  }
  return out;
}

/** Levels of the sliding histogram: 1/255 steps, below the grain that matters (its quantisation noise is 0.001). */
const BINS = 256;

/** A rectangle of an image: rows [y0, y0 + h), columns [x0, x0 + w). */
interface Region {
  y0: number;
  x0: number;
  h: number;
  w: number;
}

/**
 * Buffers that the windows of one photo reuse, by name: allocating (zeroed) and collecting some twenty
 * buffers of a window's size for every window made the detector about 7% slower on the development
 * photos. A buffer holds what its last user left; every user writes all of it before reading it.
 */
class Scratch {
  private readonly buffers = new Map<string, Float64Array | Float32Array | Uint8Array>();

  f64(name: string, n: number): Float64Array {
    const a = this.buffers.get(name);
    if (a instanceof Float64Array && a.length >= n) return a.subarray(0, n);
    const b = new Float64Array(n);
    this.buffers.set(name, b);
    return b;
  }

  f32(name: string, n: number): Float32Array {
    const a = this.buffers.get(name);
    if (a instanceof Float32Array && a.length >= n) return a.subarray(0, n);
    const b = new Float32Array(n);
    this.buffers.set(name, b);
    return b;
  }

  u8(name: string, n: number): Uint8Array {
    const a = this.buffers.get(name);
    if (a instanceof Uint8Array && a.length >= n) return a.subarray(0, n);
    const b = new Uint8Array(n);
    this.buffers.set(name, b);
    return b;
  }
}

/**
 * i clamped to [0, n): an edge replicated. (Module-level helpers rather than closures made per call:
 * V8 inlines a closure for the instance it has seen, and drops the optimised code at the next call's.)
 */
function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** The levels of src on BINS steps. */
function quantize(src: Float64Array, q: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  for (let p = 0; p < q.length; p++) q[p] = Math.min(BINS - 1, Math.max(0, Math.round(src[p] * (BINS - 1))));
  return q;
}

/**
 * Median over the (2r+1)^2 square around each pixel of the region `at` of the h x w levels q (edges
 * replicated), by Huang's sliding histogram on BINS levels; the region's pixels, row by row.
 */
function medianFilter(q: Uint8Array, h: number, w: number, r: number, at: Region = { y0: 0, x0: 0, h, w }, out: Float64Array = new Float64Array(at.h * at.w)): Float64Array {
  if (r === 1) return median3x3(q, h, w, at, out);
  const hist = new Int32Array(BINS);
  const n = (2 * r + 1) * (2 * r + 1);
  const half = n >> 1;
  const rowAt = new Int32Array(2 * r + 1);
  const xEnd = at.x0 + at.w;
  for (let y = 0; y < at.h; y++) {
    for (let k = -r; k <= r; k++) rowAt[k + r] = Math.min(h - 1, Math.max(0, at.y0 + y + k)) * w;
    hist.fill(0);
    for (let k = 0; k <= 2 * r; k++) for (let dx = -r; dx <= r; dx++) hist[q[rowAt[k] + clampIndex(at.x0 + dx, w)]]++;
    let med = 0;
    let lt = 0;
    while (lt + hist[med] <= half) lt += hist[med++];
    let o = y * at.w;
    out[o++] = med / (BINS - 1);
    for (let x = at.x0 + 1; x < xEnd; x++) {
      const xo = x - r - 1 < 0 ? 0 : x - r - 1;
      const xi = x + r >= w ? w - 1 : x + r;
      if (xo !== xi)
        for (let k = 0; k <= 2 * r; k++) {
          // lt counts the levels below med: (v - med) >>> 31 is 1 exactly when v < med, without a branch.
          const vo = q[rowAt[k] + xo];
          hist[vo]--;
          const vi = q[rowAt[k] + xi];
          hist[vi]++;
          lt += ((vi - med) >>> 31) - ((vo - med) >>> 31);
        }
      while (lt > half) lt -= hist[--med];
      while (lt + hist[med] <= half) lt += hist[med++];
      out[o++] = med / (BINS - 1);
    }
  }
  return out;
}

/**
 * medianFilter's 5x5 median of every pixel of the h x w levels q (into m5) and 7x7 median of the
 * pixels of the region `at` (into m7, the region's pixels row by row) together: on the region's rows
 * both sliding histograms are updated in one loop, and the processor overlaps their independent
 * chains of memory updates (a fifth faster than one filter after the other).
 */
function medians57(q: Uint8Array, h: number, w: number, at: Region, m5: Float64Array, m7: Float64Array): void {
  const h5 = new Int32Array(BINS);
  const h7 = new Int32Array(BINS);
  const rowAt = new Int32Array(7);
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < 7; k++) rowAt[k] = Math.min(h - 1, Math.max(0, y + k - 3)) * w;
    const rows7 = y >= at.y0 && y < at.y0 + at.h;
    h5.fill(0);
    for (let k = 1; k <= 5; k++) for (let dx = -2; dx <= 2; dx++) h5[q[rowAt[k] + clampIndex(dx, w)]]++;
    let med5 = 0;
    let lt5 = 0;
    while (lt5 + h5[med5] <= 12) lt5 += h5[med5++];
    m5[y * w] = med5 / (BINS - 1);
    let med7 = 0;
    let lt7 = 0;
    // The 7x7 square starts at the region's first column.
    if (rows7) {
      h7.fill(0);
      for (let k = 0; k < 7; k++) for (let dx = -3; dx <= 3; dx++) h7[q[rowAt[k] + clampIndex(at.x0 + dx, w)]]++;
      while (lt7 + h7[med7] <= 24) lt7 += h7[med7++];
      m7[(y - at.y0) * at.w] = med7 / (BINS - 1);
    }
    for (let x = 1; x < w; x++) {
      const seven = rows7 && x > at.x0 && x < at.x0 + at.w;
      // Columns leaving and entering the squares; where both are the edge's, nothing changes.
      const o5 = x - 3 < 0 ? 0 : x - 3;
      const i5 = x + 2 >= w ? w - 1 : x + 2;
      const o7 = x - 4 < 0 ? 0 : x - 4;
      const i7 = x + 3 >= w ? w - 1 : x + 3;
      if (seven && o5 !== i5 && o7 !== i7) {
        // Away from the edges: the five middle rows for both squares, then the 7x7's first and last.
        for (let k = 1; k <= 5; k++) {
          const row = rowAt[k];
          const vo = q[row + o7];
          h7[vo]--;
          const vi = q[row + i7];
          h7[vi]++;
          lt7 += ((vi - med7) >>> 31) - ((vo - med7) >>> 31);
          const uo = q[row + o5];
          h5[uo]--;
          const ui = q[row + i5];
          h5[ui]++;
          lt5 += ((ui - med5) >>> 31) - ((uo - med5) >>> 31);
        }
        for (let k = 0; k < 7; k += 6) {
          const vo = q[rowAt[k] + o7];
          h7[vo]--;
          const vi = q[rowAt[k] + i7];
          h7[vi]++;
          lt7 += ((vi - med7) >>> 31) - ((vo - med7) >>> 31);
        }
      } else if (seven)
        for (let k = 0; k < 7; k++) {
          const row = rowAt[k];
          if (o7 !== i7) {
            const vo = q[row + o7];
            h7[vo]--;
            const vi = q[row + i7];
            h7[vi]++;
            lt7 += ((vi - med7) >>> 31) - ((vo - med7) >>> 31);
          }
          if (k >= 1 && k <= 5 && o5 !== i5) {
            const vo = q[row + o5];
            h5[vo]--;
            const vi = q[row + i5];
            h5[vi]++;
            lt5 += ((vi - med5) >>> 31) - ((vo - med5) >>> 31);
          }
        }
      else if (o5 !== i5)
        for (let k = 1; k <= 5; k++) {
          const vo = q[rowAt[k] + o5];
          h5[vo]--;
          const vi = q[rowAt[k] + i5];
          h5[vi]++;
          lt5 += ((vi - med5) >>> 31) - ((vo - med5) >>> 31);
        }
      while (lt5 > 12) lt5 -= h5[--med5];
      while (lt5 + h5[med5] <= 12) lt5 += h5[med5++];
      m5[y * w + x] = med5 / (BINS - 1);
      if (seven) {
        while (lt7 > 24) lt7 -= h7[--med7];
        while (lt7 + h7[med7] <= 24) lt7 += h7[med7++];
        m7[(y - at.y0) * at.w + x - at.x0] = med7 / (BINS - 1);
      }
    }
  }
}

/** The smaller of two int32s without a branch (a - b must not overflow). */
function imin(a: number, b: number): number {
  const d = a - b;
  return b + (d & (d >> 31));
}

/** The larger of two int32s without a branch. */
function imax(a: number, b: number): number {
  const d = a - b;
  return a - (d & (d >> 31));
}

/**
 * The 3x3 median of the levels q (edges replicated) over the region `at`, as medianFilter's histogram
 * finds it: with each column's three levels sorted, the median is the median of the largest of the
 * three columns' smallest, the median of their middles and the smallest of their largest (exact for
 * 3x3; Paeth's network computes the same). Each column is sorted once per row, and no comparison
 * branches.
 */
function median3x3(q: Uint8Array, h: number, w: number, at: Region, out: Float64Array): Float64Array {
  const n = at.w + 2;
  const lo = new Int32Array(n);
  const mi = new Int32Array(n);
  const hi = new Int32Array(n);
  for (let y = 0; y < at.h; y++) {
    const yy = at.y0 + y;
    const up = Math.max(0, yy - 1) * w;
    const mid = yy * w;
    const down = Math.min(h - 1, yy + 1) * w;
    // Column at.x0 - 1 + j, sorted.
    for (let j = 0; j < n; j++) {
      const x = Math.min(w - 1, Math.max(0, at.x0 - 1 + j));
      const a = q[up + x];
      const b = q[mid + x];
      const c = q[down + x];
      const l = imin(imin(a, b), c);
      const u = imax(imax(a, b), c);
      lo[j] = l;
      mi[j] = a + b + c - l - u;
      hi[j] = u;
    }
    let o = y * at.w;
    for (let j = 0; j < at.w; j++) {
      const a = imax(imax(lo[j], lo[j + 1]), lo[j + 2]);
      const m0 = mi[j];
      const m1 = mi[j + 1];
      const m2 = mi[j + 2];
      const b = m0 + m1 + m2 - imin(imin(m0, m1), m2) - imax(imax(m0, m1), m2);
      const c = imin(imin(hi[j], hi[j + 1]), hi[j + 2]);
      out[o++] = (a + b + c - imin(imin(a, b), c) - imax(imax(a, b), c)) / (BINS - 1);
    }
  }
  return out;
}

/** Box average over s x s blocks (the last ones partial). */
function downsample(src: Float64Array, h: number, w: number, s: number): { data: Float64Array; h: number; w: number } {
  const H = Math.ceil(h / s);
  const W = Math.ceil(w / s);
  const sum = new Float64Array(H * W);
  const cnt = new Float64Array(H * W);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const P = Math.floor(y / s) * W + Math.floor(x / s);
      sum[P] += src[y * w + x];
      cnt[P]++;
    }
  for (let P = 0; P < sum.length; P++) sum[P] /= cnt[P];
  return { data: sum, h: H, w: W };
}

/**
 * Bilinear interpolation of a grid whose cell (i, j) is centred at ((i + 0.5) s - 0.5, (j + 0.5) s - 0.5),
 * over the h x w window whose top left pixel is (y0, x0) in the grid's coordinates.
 */
function upsample(src: Float64Array, H: number, W: number, s: number, h: number, w: number, y0: number, x0: number, out: Float64Array): Float64Array {
  // The columns' cells and weights, the same on every row.
  const c0 = new Int32Array(w);
  const c1 = new Int32Array(w);
  const t1 = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const fx = Math.min(W - 1, Math.max(0, (x0 + x + 0.5) / s - 0.5));
    const j0 = Math.floor(fx);
    c0[x] = j0;
    c1[x] = Math.min(W - 1, j0 + 1);
    t1[x] = fx - j0;
  }
  for (let y = 0; y < h; y++) {
    const fy = Math.min(H - 1, Math.max(0, (y0 + y + 0.5) / s - 0.5));
    const i0 = Math.floor(fy);
    const r0 = i0 * W;
    const r1 = Math.min(H - 1, i0 + 1) * W;
    const ty = fy - i0;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const tx = t1[x];
      const a = src[r0 + c0[x]] * (1 - tx) + src[r0 + c1[x]] * tx;
      const b = src[r1 + c0[x]] * (1 - tx) + src[r1 + c1[x]] * tx;
      out[o + x] = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

/**
 * The k-th smallest of a[lo..hi) (quickselect; reorders a, and tmp, as long as a). Each pass moves
 * the values below a median-of-three pivot to the front of the other buffer and the rest to its back,
 * without a branch on the data (every value is written at both ends, the count decides which copy
 * stays): the data-dependent branches of a Hoare partition are mispredicted about half the time.
 */
function select(a: Float64Array, lo: number, hi: number, k: number, tmp: Float64Array): number {
  let src = a;
  let dst = tmp;
  while (hi - lo > 8) {
    const x = src[lo];
    const y = src[(lo + hi) >> 1];
    const z = src[hi - 1];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let l = lo;
    let g = hi - 1;
    for (let i = lo; i < hi; i++) {
      const v = src[i];
      const below = +(v < pivot);
      dst[l] = v;
      dst[g] = v;
      l += below;
      g -= 1 - below;
    }
    if (l === lo) {
      // The pivot is the smallest: set its copies apart.
      let e = lo;
      g = hi - 1;
      for (let i = lo; i < hi; i++) {
        const v = dst[i];
        const equal = +(v <= pivot);
        src[e] = v;
        src[g] = v;
        e += equal;
        g -= 1 - equal;
      }
      if (k < e) return pivot;
      lo = e;
      continue;
    }
    if (k < l) hi = l;
    else lo = l;
    const t = src;
    src = dst;
    dst = t;
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = src[i];
    let j = i - 1;
    while (j >= lo && src[j] > v) {
      src[j + 1] = src[j];
      j--;
    }
    src[j + 1] = v;
  }
  return src[k];
}

/** The cell of upsample's grid (cells of s pixels, n of them) at or before pixel y. */
function gridCell(y: number, s: number, n: number): number {
  return Math.floor(Math.min(n - 1, Math.max(0, (y + 0.5) / s - 0.5)));
}

/**
 * Median of |r| over blocks of side b at stride b/2, interpolated to every pixel of the region `at`:
 * the local spread of the residual.
 */
function localSpread(r: Float64Array, h: number, w: number, b: number, at: Region, out: Float64Array): Float64Array {
  const s = Math.max(1, b >> 1);
  const H = Math.ceil(h / s);
  const W = Math.ceil(w / s);
  const grid = new Float64Array(H * W);
  const buf = new Float64Array(b * b);
  const tmp = new Float64Array(b * b);
  // The cells that upsample reads for the region.
  const i1 = Math.min(H - 1, gridCell(at.y0 + at.h - 1, s, H) + 1);
  const j1 = Math.min(W - 1, gridCell(at.x0 + at.w - 1, s, W) + 1);
  for (let i = gridCell(at.y0, s, H); i <= i1; i++)
    for (let j = gridCell(at.x0, s, W); j <= j1; j++) {
      const cy = (i + 0.5) * s;
      const cx = (j + 0.5) * s;
      const y0 = Math.max(0, Math.round(cy - b / 2));
      const x0 = Math.max(0, Math.round(cx - b / 2));
      const y1 = Math.min(h, y0 + b);
      const x1 = Math.min(w, x0 + b);
      // select's first pass, straight from the block: a median-of-three pivot, the values below it to
      // the front of buf, the rest to its back.
      const p0 = Math.abs(r[y0 * w + x0]);
      const p1 = Math.abs(r[((y0 + y1) >> 1) * w + ((x0 + x1) >> 1)]);
      const p2 = Math.abs(r[(y1 - 1) * w + x1 - 1]);
      const pivot = p0 < p1 ? (p1 < p2 ? p1 : p0 < p2 ? p2 : p0) : p0 < p2 ? p0 : p1 < p2 ? p2 : p1;
      const n = (y1 - y0) * (x1 - x0);
      let l = 0;
      let g = n - 1;
      for (let y = y0; y < y1; y++)
        for (let x = y * w + x0, e = y * w + x1; x < e; x++) {
          const v = Math.abs(r[x]);
          const below = +(v < pivot);
          buf[l] = v;
          buf[g] = v;
          l += below;
          g -= 1 - below;
        }
      const k = n >> 1;
      grid[i * W + j] = l === 0 ? select(buf, 0, n, k, tmp) : k < l ? select(buf, 0, l, k, tmp) : select(buf, l, n, k, tmp);
    }
  return upsample(grid, H, W, s, at.h, at.w, at.y0, at.x0, out);
}

function dilate(m: Uint8Array<ArrayBuffer>, h: number, w: number, r: number): Uint8Array<ArrayBuffer> {
  if (r <= 0) return m;
  const tmp = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let d = -r; d <= r && !v; d++) {
        const xx = x + d;
        if (xx >= 0 && xx < w && m[y * w + xx]) v = 1;
      }
      tmp[y * w + x] = v;
    }
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let d = -r; d <= r && !v; d++) {
        const yy = y + d;
        if (yy >= 0 && yy < h && tmp[yy * w + x]) v = 1;
      }
      out[y * w + x] = v;
    }
  return out;
}

function transpose(src: Float64Array, h: number, w: number, out: Float64Array): Float64Array {
  const B = 32;
  for (let y0 = 0; y0 < h; y0 += B) for (let x0 = 0; x0 < w; x0 += B) for (let y = y0; y < Math.min(h, y0 + B); y++) for (let x = x0; x < Math.min(w, x0 + B); x++) out[x * h + y] = src[y * w + x];
  return out;
}

/**
 * For the orientations whose columns lead (|slope| <= 1 against the vertical), the largest and
 * smallest mean of z along digital segments of 2k + 1 rows: the digital lines x = c + round((y0 +
 * y) t), whose first row is row y0 of the photo (so that every window has the photo's lines), cover
 * every pixel once, so running sums along them give every segment's mean in O(1); segments are cut
 * at the edges.
 *
 * A line's previous pixel is on the row above, shifted by the same amount along the whole row, so
 * the running sums of a row are the previous row's, shifted, plus z (columnSums), and a segment's
 * ends are at the same offsets from every pixel of a row: both passes walk the image row by row
 * (walking each line through the image instead touches a new row, a new page of memory, at every
 * step). Two orientations are taken at a time: the larger of their two means goes on to the running
 * maximum and the smaller to the minimum, three comparisons where one at a time takes four. The
 * means are taken for the pixels of the region `at` only, into up and down (its pixels, row by row):
 * merged into them, or written by the first pair if `fresh`. QA and QB are scratch of the image's size.
 */
function colLedLineMeans(
  z: Float64Array,
  h: number,
  w: number,
  slopes: { t: number; k: number }[],
  y0: number,
  at: Region,
  up: Float64Array,
  down: Float64Array,
  QA: Float64Array,
  QB: Float64Array,
  fresh: boolean,
): void {
  const offsets = slopes.map(({ t }) => {
    const offset = new Int32Array(h);
    for (let y = 0; y < h; y++) offset[y] = Math.round((y0 + y) * t);
    return offset;
  });
  const pick = new Float64Array(6);
  for (let f = 0; f < slopes.length; f += 2) {
    const first = fresh && f === 0;
    // A lone last family goes with itself.
    const g = f + 1 < slopes.length ? f + 1 : f;
    const oa = offsets[f];
    const ob = offsets[g];
    const ka = slopes[f].k;
    const kb = slopes[g].k;
    columnSums(z, h, w, oa, QA);
    columnSums(z, h, w, ob, QB);
    for (let y = at.y0; y < at.y0 + at.h; y++) {
      // The segments' rows, cut at the top and bottom: where they do not leave the window sideways
      // either, columns [xa, xb), their sums are at the same offsets from every pixel of the row.
      const A = rowSegment(oa, ka, h, w, y);
      const B = rowSegment(ob, kb, h, w, y);
      const xa = Math.max(A.x0, B.x0);
      const xb = Math.min(A.x1, B.x1);
      for (let x = at.x0, p = (y - at.y0) * at.w; x < at.x0 + at.w; x++, p++) {
        let ma: number;
        let mb: number;
        if (x >= xa && x < xb) {
          ma = (QA[A.last + x] - (A.first ? 0 : QA[A.before + x])) / A.n;
          mb = (QB[B.last + x] - (B.first ? 0 : QB[B.before + x])) / B.n;
        } else {
          ma = columnCutMean(QA, oa, ka, h, w, y, x);
          mb = columnCutMean(QB, ob, kb, h, w, y, x);
        }
        pick[0] = ma;
        pick[1] = mb;
        const larger = +(mb > ma);
        const hi = pick[larger];
        const lo = pick[1 - larger];
        if (first) {
          up[p] = hi;
          down[p] = lo;
        } else {
          const u = up[p];
          pick[2] = u;
          pick[3] = hi;
          up[p] = pick[2 + +(hi > u)];
          const d = down[p];
          pick[4] = d;
          pick[5] = lo;
          down[p] = pick[4 + +(lo < d)];
        }
      }
    }
  }
}

/** lineSums for column-led lines x = c + offset[y]: from the top row down, each row the one above, shifted, plus z. */
function columnSums(z: Float64Array, h: number, w: number, offset: Int32Array, Q: Float64Array): void {
  for (let x = 0; x < w; x++) Q[x] = 0 + z[x];
  for (let y = 1; y < h; y++) {
    const d = offset[y] - offset[y - 1];
    const row = y * w;
    const prev = row - w - d;
    // The columns whose line comes from inside the window on the row above.
    const lo = Math.max(0, d);
    const hi = Math.min(w, w + d);
    for (let x = 0; x < lo; x++) Q[row + x] = 0 + z[row + x];
    for (let x = lo; x < hi; x++) Q[row + x] = Q[prev + x] + z[row + x];
    for (let x = hi; x < w; x++) Q[row + x] = 0 + z[row + x];
  }
}

/**
 * The segment of 2k + 1 rows around row y on column-led lines x = c + offset[y], cut at the window's
 * top and bottom: its length n, the offsets from a pixel (y, x) of the row to its last pixel and to
 * the pixel before its first (unless it starts on the window's first row), and the columns [x0, x1)
 * where the line is inside the window from that pixel (or the first row) to the last, so that the
 * segment is not cut sideways and the running sums hold its sum.
 */
function rowSegment(offset: Int32Array, k: number, h: number, w: number, y: number): { n: number; last: number; before: number; first: boolean; x0: number; x1: number } {
  const s = Math.max(0, y - k);
  const e = Math.min(h - 1, y + k);
  const first = s === 0;
  const de = offset[e] - offset[y];
  const db = offset[first ? 0 : s - 1] - offset[y];
  return { n: e - s + 1, last: e * w + de, before: (s - 1) * w + db, first, x0: Math.max(0, -de, -db), x1: Math.min(w, w - de, w - db) };
}

/** cutMean for column-led lines x = c + offset[y]: the segment's rows [s, e] on line c, the sum before s. */
function columnCutMean(Q: Float64Array, offset: Int32Array, k: number, h: number, w: number, y: number, x: number): number {
  const c = x - offset[y];
  let e = Math.min(h - 1, y + k);
  while (c + offset[e] < 0 || c + offset[e] >= w) e--;
  let s = Math.max(0, y - k);
  while (c + offset[s] < 0 || c + offset[s] >= w) s++;
  const sum0 = s > 0 && c + offset[s - 1] >= 0 && c + offset[s - 1] < w ? Q[(s - 1) * w + c + offset[s - 1]] : 0;
  return (Q[e * w + c + offset[e]] - sum0) / (e - s + 1);
}

/**
 * The largest and smallest mean of z along segments of about 2 half + 1 pixels through each pixel
 * of the region `at`, over `angles` orientations, into upOut and downOut (the region's pixels, row by
 * row).
 */
function lineMeans(z: Float64Array, h: number, w: number, half: number, angles: number, y0: number, x0: number, at: Region, ws: Scratch, upOut: Float32Array, downOut: Float32Array): void {
  const rows: { t: number; k: number }[] = [];
  const cols: { t: number; k: number }[] = [];
  for (let a = 0; a < angles; a++) {
    const theta = (Math.PI * a) / angles;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    if (Math.abs(cos) >= Math.abs(sin)) rows.push({ t: sin / cos, k: Math.max(1, Math.round(half * Math.abs(cos))) });
    else cols.push({ t: cos / sin, k: Math.max(1, Math.round(half * Math.abs(sin))) });
  }
  const n = at.h * at.w;
  const up = ws.f64('lineUp', n);
  const down = ws.f64('lineDown', n);
  const QA = ws.f64('lineSums', h * w);
  const QB = ws.f64('lineSums2', h * w);
  if (rows.length) {
    // The orientations whose rows lead are those whose columns lead on the transposed image (the
    // same sums, in the same order); their means for the transposed region, transposed back.
    const upT = ws.f64('lineUpT', n);
    const downT = ws.f64('lineDownT', n);
    colLedLineMeans(transpose(z, h, w, ws.f64('transposed', h * w)), w, h, rows, x0, { y0: at.x0, x0: at.y0, h: at.w, w: at.h }, upT, downT, QA, QB, true);
    transpose(upT, at.w, at.h, up);
    transpose(downT, at.w, at.h, down);
  }
  colLedLineMeans(z, h, w, cols, y0, at, up, down, QA, QB, rows.length === 0);
  upOut.set(up);
  downOut.set(down);
}

/** Names of the per-pixel features, in the order damageFeatures stores them. */
export const FEATURE_NAMES = [
  'z1', // residual from the 3x3 median, over the local spread
  'z2', // 5x5
  'z3', // 7x7
  'zc', // from the coarse median (the photo box-averaged by 1/128 of its short side), over its own spread
  'lineUp', // largest mean of z2 along a segment of about 15 px through the pixel, over 12 orientations
  'lineDown', // smallest
  'texture', // log of the local spread over the noise level
  'noise', // log of the noise level over 0.02
  'level', // L - 0.5
  'contrast', // 10 r2 (image units)
  'max3', // largest z2 in the 3x3 neighbourhood
  'min3', // smallest
  'max5', // largest z2 in the 5x5 neighbourhood
  'min5', // smallest
  'mean5', // mean z2 over the 5x5 neighbourhood
  'edge', // log(1 + gradient magnitude of the 5x5 median over the local spread): the photo's own edges
] as const;

export interface DamageFeatures {
  h: number;
  w: number;
  /** Noise level of the luminance. */
  sigma: number;
  /** FEATURE_NAMES.length planes of h*w. */
  data: Float32Array;
}

/**
 * Mean over the (2r+1)^2 square (edges replicated) of the pixels of the region `at`, into out (the
 * region's pixels, row by row): separable running sums, along each row and then down each column
 * from the top of the image (the columns' sums kept side by side, so that the pass walks rows).
 */
function boxMean(src: Float64Array, h: number, w: number, r: number, at: Region, ws: Scratch, out: Float32Array): void {
  const tmp = ws.f64('boxRows', h * w);
  const n = 2 * r + 1;
  const rows = Math.min(h, at.y0 + at.h + r + 1);
  for (let y = 0; y < rows; y++) {
    const row = y * w;
    let s = 0;
    for (let k = -r; k <= r; k++) s += src[row + Math.min(w - 1, Math.max(0, k))];
    for (let x = 0; x < w; x++) {
      tmp[row + x] = s / n;
      s += src[row + Math.min(w - 1, x + r + 1)] - src[row + Math.max(0, x - r)];
    }
  }
  const sums = new Float64Array(at.w);
  for (let k = -r; k <= r; k++) {
    const row = Math.min(h - 1, Math.max(0, k)) * w + at.x0;
    for (let x = 0; x < at.w; x++) sums[x] += tmp[row + x];
  }
  for (let y = 0; y < at.y0 + at.h; y++) {
    if (y >= at.y0) {
      const o = (y - at.y0) * at.w;
      for (let x = 0; x < at.w; x++) out[o + x] = sums[x] / n;
    }
    const add = Math.min(h - 1, y + r + 1) * w + at.x0;
    const drop = Math.max(0, y - r) * w + at.x0;
    for (let x = 0; x < at.w; x++) sums[x] += tmp[add + x] - tmp[drop + x];
  }
}

/**
 * Scratch for fmax and fmin: they pick from a table rather than branch on a comparison of doubles,
 * which the data would often mispredict. Each call site has its own pair of slots, so that
 * sites do not wait on each other's stores.
 */
const PICK = new Float64Array(36);

/** The larger of a and b, through slots `at` and `at` + 1 of PICK. */
function fmax(a: number, b: number, at: number): number {
  PICK[at] = a;
  PICK[at + 1] = b;
  return PICK[at + +(b > a)];
}

/** The smaller of a and b, through slots `at` and `at` + 1 of PICK. */
function fmin(a: number, b: number, at: number): number {
  PICK[at] = a;
  PICK[at + 1] = b;
  return PICK[at + +(b < a)];
}

/** Where rangeFilters writes: the region's pixels, row by row. */
interface Ranges {
  max3: Float32Array;
  min3: Float32Array;
  max5: Float32Array;
  min5: Float32Array;
}

/**
 * Largest and smallest value over the 3x3 and the 5x5 square (cut at the edges) around each pixel of
 * the region `at` of the h x w image src: a row pass, then a column pass, on the rows the region needs.
 */
function rangeFilters(src: Float64Array, h: number, w: number, at: Region, ws: Scratch, { max3, min3, max5, min5 }: Ranges): void {
  const W = at.w;
  const ya = Math.max(0, at.y0 - 2);
  const yb = Math.min(h, at.y0 + at.h + 2);
  const n = (yb - ya) * W;
  const rowMax3 = ws.f64('rowMax3', n);
  const rowMin3 = ws.f64('rowMin3', n);
  const rowMax5 = ws.f64('rowMax5', n);
  const rowMin5 = ws.f64('rowMin5', n);
  // The row's columns at.x0 - 2 .. at.x0 + W + 1, the edge's value repeated beyond it (which changes
  // neither extreme of a square cut at the edge); hi3/lo3 over three of them, centred.
  const pad = new Float64Array(W + 4);
  const hi3 = new Float64Array(W + 4);
  const lo3 = new Float64Array(W + 4);
  for (let y = ya; y < yb; y++) {
    const row = y * w;
    for (let j = 0; j < W + 4; j++) pad[j] = src[row + Math.min(w - 1, Math.max(0, at.x0 - 2 + j))];
    for (let j = 1; j < W + 3; j++) {
      // The larger and the smaller of the first two with one comparison, then each against the third.
      PICK[0] = pad[j - 1];
      PICK[1] = pad[j];
      const larger = +(pad[j] > pad[j - 1]);
      hi3[j] = fmax(PICK[larger], pad[j + 1], 2);
      lo3[j] = fmin(PICK[1 - larger], pad[j + 1], 4);
    }
    const o = (y - ya) * W;
    for (let x = 0; x < W; x++) {
      rowMax3[o + x] = hi3[x + 2];
      rowMin3[o + x] = lo3[x + 2];
      rowMax5[o + x] = fmax(hi3[x + 1], hi3[x + 3], 8);
      rowMin5[o + x] = fmin(lo3[x + 1], lo3[x + 3], 10);
    }
  }
  for (let y = 0; y < at.h; y++) {
    const yy = at.y0 + y;
    const c = (yy - ya) * W;
    const u1 = (Math.max(0, yy - 1) - ya) * W;
    const d1 = (Math.min(h - 1, yy + 1) - ya) * W;
    const u2 = (Math.max(0, yy - 2) - ya) * W;
    const d2 = (Math.min(h - 1, yy + 2) - ya) * W;
    const o = y * W;
    for (let x = 0; x < W; x++) {
      max3[o + x] = fmax(fmax(rowMax3[u1 + x], rowMax3[c + x], 12), rowMax3[d1 + x], 14);
      min3[o + x] = fmin(fmin(rowMin3[u1 + x], rowMin3[c + x], 16), rowMin3[d1 + x], 18);
      max5[o + x] = fmax(fmax(fmax(rowMax5[u2 + x], rowMax5[u1 + x], 20), fmax(rowMax5[c + x], rowMax5[d1 + x], 22), 24), rowMax5[d2 + x], 26);
      min5[o + x] = fmin(fmin(fmin(rowMin5[u2 + x], rowMin5[u1 + x], 28), fmin(rowMin5[c + x], rowMin5[d1 + x], 30), 32), rowMin5[d2 + x], 34);
    }
  }
}

/**
 * The smallest spread a residual is divided by (image units): about the grain of the cleanest
 * photos trained on, so that a noise-free photo's rounding is not read as strong residuals.
 */
const MIN_SPREAD = 0.005;

/** What the windows share: the luminance, its noise level and the coarse background. */
interface Scene {
  L: Float64Array;
  h: number;
  w: number;
  sigma: number;
  /** The smallest spread a residual is divided by. */
  floor: number;
  /** The median (radius 3) of the luminance box-averaged by s, on its H x W grid. */
  coarse: { data: Float64Array; H: number; W: number; s: number };
}

function sceneOf(image: Img): Scene {
  const { h, w } = image;
  const L = luminance(image);
  const sigma = estimateNoiseLevel({ c: 1, h, w, data: L }).sigma;
  const s = Math.max(2, Math.round(Math.min(h, w) / 128));
  const d = downsample(L, h, w, s);
  return { L, h, w, sigma, floor: Math.max(sigma, MIN_SPREAD), coarse: { data: medianFilter(quantize(d.data), d.h, d.w, 3), H: d.h, W: d.w, s } };
}

/** Pixels of a window's side, margins included; a multiple of 8, so that the spread's blocks fall on the same grid in every window. */
const WINDOW = 768;
/** What a window computes beyond its tile on each side: the spread's blocks (24 px) and the line segments (7 px) reach 31 px. */
const MARGIN = 32;
const TILE = WINDOW - 2 * MARGIN;

/** Where a feature's plane starts in tileFeatures' output, for a tile of n pixels. */
function plane(name: (typeof FEATURE_NAMES)[number], n: number): number {
  return FEATURE_NAMES.indexOf(name) * n;
}

/** out = a - b. */
function subtract(a: Float64Array, b: Float64Array, out: Float64Array): void {
  for (let p = 0; p < out.length; p++) out[p] = a[p] - b[p];
}

/** den from the spread (in place) and the residual r over it. */
function standardise(den: Float64Array, r: Float64Array, z: Float64Array, floor: number): void {
  for (let p = 0; p < den.length; p++) {
    den[p] = Math.max(1.4826 * den[p], floor);
    z[p] = r[p] / den[p];
  }
}

/** The features that need no neighbourhood beyond the window's images, for the region's pixels (the kernels of tileFeatures). */
function pixelFeatures(
  out: Float32Array,
  n: number,
  sc: Scene,
  L: Float64Array,
  h: number,
  w: number,
  at: Region,
  m: { bg1: Float64Array; bg2: Float64Array; bg3: Float64Array; r2: Float64Array; z2: Float64Array; den: Float64Array; rc: Float64Array; spreadC: Float64Array },
): void {
  const { floor } = sc;
  const { bg1, bg2, bg3, r2, z2, den, rc, spreadC } = m;
  const [o1, o2, o3, oc0, ot, on, ol, oc, oe] = (['z1', 'z2', 'z3', 'zc', 'texture', 'noise', 'level', 'contrast', 'edge'] as const).map((name) => plane(name, n));
  const noise = Math.log(floor / 0.02);
  for (let y = 0, i = 0; y < at.h; y++) {
    const yy = at.y0 + y;
    const up = Math.max(0, yy - 1) * w;
    const down = Math.min(h - 1, yy + 1) * w;
    for (let x = 0; x < at.w; x++, i++) {
      const xx = at.x0 + x;
      const p = yy * w + xx;
      out[o1 + i] = (L[p] - bg1[i]) / den[p];
      out[o2 + i] = z2[p];
      out[o3 + i] = (L[p] - bg3[i]) / den[p];
      out[oc0 + i] = rc[p] / Math.max(1.4826 * spreadC[i], floor);
      // Both logarithms are 0 where their argument is 1 (flat ground), which is common enough to skip them there.
      out[ot + i] = den[p] === floor ? 0 : Math.log(den[p] / floor);
      out[on + i] = noise;
      out[ol + i] = L[p] - 0.5;
      out[oc + i] = 10 * r2[p];
      // Central differences of the background, one-sided at the edges.
      const gx = bg2[yy * w + Math.min(w - 1, xx + 1)] - bg2[yy * w + Math.max(0, xx - 1)];
      const gy = bg2[down + xx] - bg2[up + xx];
      out[oe + i] = gx === 0 && gy === 0 ? 0 : Math.log(1 + (0.5 * Math.sqrt(gx * gx + gy * gy)) / den[p]);
    }
  }
}

/**
 * The features of the tile [y0, y1) x [x0, x1), FEATURE_NAMES.length planes of its pixels. What needs
 * the neighbourhood (the 5x5 residual, the spreads' blocks, the line segments) is computed on the
 * tile and MARGIN pixels around it (cut at the photo's edges), the rest on the tile's pixels only.
 * The loops are in functions of their own, each optimised by V8 as a whole once it has run.
 */
function tileFeatures(sc: Scene, y0: number, x0: number, y1: number, x1: number, ws: Scratch): Float32Array {
  const wy0 = Math.max(0, y0 - MARGIN);
  const wx0 = Math.max(0, x0 - MARGIN);
  const h = Math.min(sc.h, y1 + MARGIN) - wy0;
  const w = Math.min(sc.w, x1 + MARGIN) - wx0;
  const hw = h * w;
  // The window's luminance: the photo's own rows where the window is as wide as the photo.
  let L = sc.L.subarray(wy0 * sc.w, (wy0 + h) * sc.w);
  if (w !== sc.w) {
    L = ws.f64('L', hw);
    for (let y = 0; y < h; y++) L.set(sc.L.subarray((wy0 + y) * sc.w + wx0, (wy0 + y) * sc.w + wx0 + w), y * w);
  }
  const q = quantize(L, ws.u8('levels', hw));
  // The tile in the window's coordinates.
  const at: Region = { y0: y0 - wy0, x0: x0 - wx0, h: y1 - y0, w: x1 - x0 };
  const n = at.h * at.w;
  const out = ws.f32('features', FEATURE_NAMES.length * n);
  const whole: Region = { y0: 0, x0: 0, h, w };
  const bg2 = ws.f64('median5', hw);
  const bg3 = ws.f64('median7', n);
  medians57(q, h, w, at, bg2, bg3);
  const bg1 = medianFilter(q, h, w, 1, at, ws.f64('median3', n));
  const r2 = ws.f64('r2', hw);
  subtract(L, bg2, r2);
  // The spread, then in place the denominator.
  const den = localSpread(r2, h, w, 16, whole, ws.f64('den', hw));
  const z2 = ws.f64('z2', hw);
  standardise(den, r2, z2, sc.floor);
  const { data, H, W, s } = sc.coarse;
  const rc = upsample(data, H, W, s, h, w, wy0, wx0, ws.f64('coarse', hw));
  subtract(L, rc, rc);
  const spreadC = localSpread(rc, h, w, 16, at, ws.f64('spreadCoarse', n));
  const planeOf = (name: (typeof FEATURE_NAMES)[number]) => out.subarray(plane(name, n), plane(name, n) + n);
  lineMeans(z2, h, w, 7, 12, wy0, wx0, at, ws, planeOf('lineUp'), planeOf('lineDown'));
  rangeFilters(z2, h, w, at, ws, { max3: planeOf('max3'), min3: planeOf('min3'), max5: planeOf('max5'), min5: planeOf('min5') });
  boxMean(z2, h, w, 2, at, ws, planeOf('mean5'));
  pixelFeatures(out, n, sc, L, h, w, at, { bg1, bg2, bg3, r2, z2, den, rc, spreadC });
  return out;
}

/** The tiles of an h x w photo, row by row. */
function* tiles(h: number, w: number, tile: number): Generator<[number, number, number, number]> {
  for (let y0 = 0; y0 < h; y0 += tile) for (let x0 = 0; x0 < w; x0 += tile) yield [y0, x0, Math.min(h, y0 + tile), Math.min(w, x0 + tile)];
}

/**
 * Every feature of every pixel (for the classifier's training, bench/damage-data.ts); memory grows
 * with the photo. `tile` (a multiple of 8) is for the tests: the features do not depend on it.
 */
export function damageFeatures(image: Img, tile = TILE): DamageFeatures {
  if (!(tile > 0 && tile % 8 === 0)) throw new RangeError(`damageFeatures: the tile side ${tile} must be a positive multiple of 8`);
  const sc = sceneOf(image);
  const { h, w } = sc;
  const F = FEATURE_NAMES.length;
  const data = new Float32Array(F * h * w);
  const ws = new Scratch();
  for (const [y0, x0, y1, x1] of tiles(h, w, tile)) {
    const t = tileFeatures(sc, y0, x0, y1, x1, ws);
    const th = y1 - y0;
    const tw = x1 - x0;
    for (let k = 0; k < F; k++) for (let y = 0; y < th; y++) data.set(t.subarray(k * th * tw + y * tw, k * th * tw + (y + 1) * tw), k * h * w + (y0 + y) * w + x0);
  }
  return { h, w, sigma: sc.sigma, data };
}

/** The classifier's layers with the features' standardisation folded into the first, as typed arrays. */
interface Layer {
  w: Float64Array;
  b: Float64Array;
  out: number;
  in: number;
}
interface Classifier {
  layers: Layer[];
  /** The range trained on, per feature. */
  low: Float64Array;
  high: Float64Array;
}
let folded: Classifier | undefined;

function classifier(): Classifier {
  if (folded) return folded;
  const K = FEATURE_NAMES.length;
  const trained: readonly string[] = FEATURES;
  if (trained.length !== K || trained.some((name, i) => name !== FEATURE_NAMES[i]))
    throw new Error('engine/estimate/damage-weights.ts was trained on other features; retrain it (model-training/train_damage.py)');
  const layers = LAYERS.map((l, i) => {
    const w = Float64Array.from(l.w);
    const b = Float64Array.from(l.b);
    if (i === 0)
      for (let o = 0; o < l.out; o++)
        for (let j = 0; j < l.in; j++) {
          w[o * l.in + j] /= STD[j];
          b[o] -= w[o * l.in + j] * MEAN[j];
        }
    return { w, b, out: l.out, in: l.in };
  });
  folded = { layers, low: Float64Array.from(LOW), high: Float64Array.from(HIGH) };
  return folded;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** classify's signature: see there. */
type ClassifyTile = (f: Float32Array, th: number, tw: number, out: Float32Array, at: number, stride: number) => void;
let compiled: ClassifyTile | undefined;

/**
 * The classifier's probability of damage for the th x tw pixels of a tile whose features f are
 * stored plane by plane; the tile's row y goes to out[at + y * stride ..]. Inputs are clamped to the
 * range trained on: the classifier is not asked to extrapolate.
 */
function classify(f: Float32Array, th: number, tw: number, out: Float32Array, at: number, stride: number): void {
  compiled ??= compileClassifier() ?? classifyAny;
  compiled(f, th, tw, out, at, stride);
}

/** A number as a JavaScript literal that reads back as the same double (-0 included). */
function literal(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/**
 * classify for the trained weights, compiled: the network written out as straight-line code per
 * pixel, every weight, bias and bound a literal and the inputs and activations locals, where the
 * general loop (classifyAny) loads each weight from memory for every pixel; each sum is one
 * expression in that loop's order (the bias, then the inputs in turn), so both give the same result
 * to the last bit, this one about 1.4 times faster (the classifier was a quarter of the detector's
 * time). The source is made of numbers only. Undefined where code cannot be generated (a
 * Content-Security-Policy without 'unsafe-eval'; the engine runs in Node and Electron's utility
 * process, where it can).
 */
function compileClassifier(): ClassifyTile | undefined {
  const { layers, low, high } = classifier();
  const numbers = [...low, ...high, ...layers.flatMap((l) => [...l.w, ...l.b])];
  if (layers.at(-1)?.out !== 1 || !numbers.every(Number.isFinite)) return undefined;
  const lines: string[] = [];
  for (let k = 0; k < layers[0].in; k++) {
    const [lo, hi] = [literal(low[k]), literal(high[k])];
    lines.push(`let a0_${k} = f[${k} * n + i];`, `a0_${k} = a0_${k} < ${lo} ? ${lo} : a0_${k} > ${hi} ? ${hi} : a0_${k};`);
  }
  layers.forEach(({ w, b, out, in: m }, l) => {
    for (let o = 0; o < out; o++) {
      let sum = literal(b[o]);
      for (let j = 0; j < m; j++) sum += ` + ${literal(w[o * m + j])} * a${l}_${j}`;
      const name = `a${l + 1}_${o}`;
      // max(0, s) as (s + |s|) / 2: exact, and without a branch that would be mispredicted half the time.
      lines.push(`let ${name} = ${sum};`, ...(l < layers.length - 1 ? [`${name} = (${name} + Math.abs(${name})) * 0.5;`] : []));
    }
  });
  lines.push(`out[row + x] = 1 / (1 + Math.exp(-a${layers.length}_0));`);
  const source = `const n = th * tw;
for (let y = 0; y < th; y++) {
  const row = at + y * stride;
  for (let x = 0, i = y * tw; x < tw; x++, i++) {
    ${lines.join('\n    ')}
  }
}`;
  try {
    return new Function('f', 'th', 'tw', 'out', 'at', 'stride', source) as ClassifyTile;
  } catch {
    return undefined;
  }
}

/** classify for any shape of the classifier, a layer at a time. */
function classifyAny(f: Float32Array, th: number, tw: number, out: Float32Array, at: number, stride: number): void {
  const { layers, low, high } = classifier();
  const K = FEATURE_NAMES.length;
  const n = th * tw;
  const acts = [new Float64Array(K), ...layers.map((l) => new Float64Array(l.out))];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) acts[0][k] = clamp(f[k * n + i], low[k], high[k]);
    for (let l = 0; l < layers.length; l++) {
      const { w, b, out: m, in: q } = layers[l];
      const x = acts[l];
      for (let o = 0; o < m; o++) {
        let s = b[o];
        for (let j = 0; j < q; j++) s += w[o * q + j] * x[j];
        acts[l + 1][o] = l < layers.length - 1 ? (s + Math.abs(s)) * 0.5 : s;
      }
    }
    out[at + Math.floor(i / tw) * stride + (i % tw)] = 1 / (1 + Math.exp(-acts[layers.length][0]));
  }
}

/**
 * Pits of the probability map smaller than a disc of this radius, as a share of the photo's short
 * side, are raised to their rim (area-closing.ts). The features reach 7 px (the coarse median
 * aside), so a blotch or a large speck reads as a ring with a doubtful inside. Chosen on 12
 * held-out training photos at 256x256 (restore 26.40 dB against 26.29 without; 2% scored the same;
 * docs/ALGORITHM.md, "Damage detection").
 */
export const PIT_RADIUS = 0.01;

/**
 * The probability of damage at each pixel, tile by tile (memory bounded whatever the photo's
 * size), with the insides of small rings raised to the ring's level (PIT_RADIUS).
 */
export function damageProbability(image: Img): Float32Array {
  const sc = sceneOf(image);
  const { h, w } = sc;
  const out = new Float32Array(h * w);
  const ws = new Scratch();
  for (const [y0, x0, y1, x1] of tiles(h, w, TILE)) classify(tileFeatures(sc, y0, x0, y1, x1, ws), y1 - y0, x1 - x0, out, y0 * w + x0, w);
  return areaClosing(out, h, w, Math.PI * (PIT_RADIUS * Math.min(h, w)) ** 2);
}

export interface DamageThresholds {
  /** Probability above which a pixel is damaged at sensitivity 0.5. */
  threshold: number;
  /** Dilation of the mask in pixels. */
  dilate: number;
}

/**
 * Chosen on held-out training photos (not the development photos): a plain threshold at 0.4 and
 * no dilation scored best; hysteresis (growing seeds down to 0.6 or 0.8 of it) and a 1-px dilation
 * scored lower (docs/ALGORITHM.md, "Damage detection").
 */
export const DAMAGE_THRESHOLDS: DamageThresholds = { threshold: 0.4, dilate: 0 };

function checkSensitivity(sensitivity: number): void {
  if (!(sensitivity >= 0 && sensitivity <= 1)) throw new UserError(`the damage detection sensitivity must be a number in [0, 1], got ${sensitivity}`);
}

/**
 * The mask from the probabilities: the pixels above the threshold that the sensitivity sets (0 .. 1
 * moves its logit by +2 .. -2 around thresholds.threshold: 0.83 .. 0.08 for the default 0.4),
 * dilated by thresholds.dilate pixels.
 */
export function damageMask(prob: Float32Array, h: number, w: number, sensitivity = 0.5, thresholds: DamageThresholds = DAMAGE_THRESHOLDS): DamageResult {
  checkSensitivity(sensitivity);
  const hw = h * w;
  const logit = Math.log(thresholds.threshold / (1 - thresholds.threshold)) + 4 * (0.5 - sensitivity);
  const cut = 1 / (1 + Math.exp(-logit));
  const above = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) if (prob[p] > cut) above[p] = 1;
  const damaged = dilate(above, h, w, thresholds.dilate);
  let n = 0;
  for (const v of damaged) n += v;
  return { damaged, fraction: n / hw };
}

/**
 * Logit width of the band below the cut in which a pixel's weight falls from 1 to 0: ln 6 puts its
 * floor at a probability of 0.1 for the default cut of 0.4.
 */
export const TRUST_BAND = Math.log(6);

/**
 * Observed weights for a restore from the damage probabilities: 0 (restored entirely) where
 * damageMask marks the pixel, 1 (trusted) TRUST_BAND or more below its cut in logit, and
 * logit-linear between, so that pixels the detector is unsure of pull the solve less without
 * being discarded. On held-out training photos this scored above every hard threshold
 * (docs/ALGORITHM.md, "Old photos: one operator").
 */
export function damageTrust(prob: Float32Array, h: number, w: number, sensitivity = 0.5, thresholds: DamageThresholds = DAMAGE_THRESHOLDS): Float64Array {
  const hard = damageMask(prob, h, w, sensitivity, thresholds).damaged;
  const cut = Math.log(thresholds.threshold / (1 - thresholds.threshold)) + 4 * (0.5 - sensitivity);
  const out = new Float64Array(h * w);
  for (let p = 0; p < h * w; p++) {
    if (hard[p]) continue;
    const q = Math.min(Math.max(prob[p]!, 1e-9), 1 - 1e-9);
    out[p] = Math.min(1, Math.max(0, (cut - Math.log(q / (1 - q))) / TRUST_BAND));
  }
  return out;
}

export function detectDamage(image: Img, options: DamageOptions = {}, thresholds: DamageThresholds = DAMAGE_THRESHOLDS): DamageResult {
  const sensitivity = options.sensitivity ?? 0.5;
  checkSensitivity(sensitivity); // before the work
  return damageMask(damageProbability(image), image.h, image.w, sensitivity, thresholds);
}
