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

/** Median over the (2r+1)^2 square around each pixel (edges replicated), by Huang's sliding histogram on BINS levels. */
function medianFilter(src: Float64Array, h: number, w: number, r: number): Float64Array {
  const q = new Uint16Array(h * w);
  for (let p = 0; p < q.length; p++) q[p] = Math.min(BINS - 1, Math.max(0, Math.round(src[p] * (BINS - 1))));
  if (r === 1) return median3x3(q, h, w);
  const out = new Float64Array(h * w);
  const hist = new Int32Array(BINS);
  const n = (2 * r + 1) * (2 * r + 1);
  const half = n >> 1;
  const rowAt = new Int32Array(2 * r + 1);
  const col = (x: number) => Math.min(w - 1, Math.max(0, x));
  for (let y = 0; y < h; y++) {
    for (let k = -r; k <= r; k++) rowAt[k + r] = Math.min(h - 1, Math.max(0, y + k)) * w;
    hist.fill(0);
    for (let k = 0; k <= 2 * r; k++) for (let dx = -r; dx <= r; dx++) hist[q[rowAt[k] + col(dx)]]++;
    let med = 0;
    let lt = 0;
    while (lt + hist[med] <= half) lt += hist[med++];
    out[y * w] = med / (BINS - 1);
    for (let x = 1; x < w; x++) {
      const xo = x - r - 1 < 0 ? 0 : x - r - 1;
      const xi = x + r >= w ? w - 1 : x + r;
      if (xo !== xi)
        for (let k = 0; k <= 2 * r; k++) {
          const vo = q[rowAt[k] + xo];
          hist[vo]--;
          if (vo < med) lt--;
          const vi = q[rowAt[k] + xi];
          hist[vi]++;
          if (vi < med) lt++;
        }
      while (lt > half) lt -= hist[--med];
      while (lt + hist[med] <= half) lt += hist[med++];
      out[y * w + x] = med / (BINS - 1);
    }
  }
  return out;
}

/** The 3x3 median of the levels q (edges replicated), by Paeth's 19-exchange network; as medianFilter's histogram finds it. */
function median3x3(q: Uint16Array, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const v = new Int32Array(9);
  const sort = (i: number, j: number) => {
    if (v[i] > v[j]) {
      const t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
  };
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const mid = y * w;
    const down = Math.min(h - 1, y + 1) * w;
    for (let x = 0; x < w; x++) {
      const l = Math.max(0, x - 1);
      const r = Math.min(w - 1, x + 1);
      v[0] = q[up + l];
      v[1] = q[up + x];
      v[2] = q[up + r];
      v[3] = q[mid + l];
      v[4] = q[mid + x];
      v[5] = q[mid + r];
      v[6] = q[down + l];
      v[7] = q[down + x];
      v[8] = q[down + r];
      sort(1, 2);
      sort(4, 5);
      sort(7, 8);
      sort(0, 1);
      sort(3, 4);
      sort(6, 7);
      sort(1, 2);
      sort(4, 5);
      sort(7, 8);
      sort(0, 3);
      sort(5, 8);
      sort(4, 7);
      sort(3, 6);
      sort(1, 4);
      sort(2, 5);
      sort(4, 7);
      sort(4, 2);
      sort(6, 4);
      sort(4, 2);
      out[mid + x] = v[4] / (BINS - 1);
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
function upsample(src: Float64Array, H: number, W: number, s: number, h: number, w: number, y0 = 0, x0 = 0): Float64Array {
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(H - 1, Math.max(0, (y0 + y + 0.5) / s - 0.5));
    const i0 = Math.floor(fy);
    const i1 = Math.min(H - 1, i0 + 1);
    const ty = fy - i0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(W - 1, Math.max(0, (x0 + x + 0.5) / s - 0.5));
      const j0 = Math.floor(fx);
      const j1 = Math.min(W - 1, j0 + 1);
      const tx = fx - j0;
      const a = src[i0 * W + j0] * (1 - tx) + src[i0 * W + j1] * tx;
      const b = src[i1 * W + j0] * (1 - tx) + src[i1 * W + j1] * tx;
      out[y * w + x] = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

/** The k-th smallest of a[0..n) (Hoare's quickselect; reorders a). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/** Median of |r| over blocks of side b at stride b/2, interpolated to every pixel: the local spread of the residual. */
function localSpread(r: Float64Array, h: number, w: number, b: number): Float64Array {
  const s = Math.max(1, b >> 1);
  const H = Math.ceil(h / s);
  const W = Math.ceil(w / s);
  const grid = new Float64Array(H * W);
  const buf = new Float64Array(b * b);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      const cy = (i + 0.5) * s;
      const cx = (j + 0.5) * s;
      const y0 = Math.max(0, Math.round(cy - b / 2));
      const x0 = Math.max(0, Math.round(cx - b / 2));
      const y1 = Math.min(h, y0 + b);
      const x1 = Math.min(w, x0 + b);
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) buf[n++] = Math.abs(r[y * w + x]);
      grid[i * W + j] = n ? select(buf, n, n >> 1) : 0;
    }
  return upsample(grid, H, W, s, h, w);
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

function transpose(src: Float64Array, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const B = 32;
  for (let y0 = 0; y0 < h; y0 += B) for (let x0 = 0; x0 < w; x0 += B) for (let y = y0; y < Math.min(h, y0 + B); y++) for (let x = x0; x < Math.min(w, x0 + B); x++) out[x * h + y] = src[y * w + x];
  return out;
}

/**
 * For the orientations whose rows lead (|slope| <= 1), the largest and smallest mean of z along
 * digital segments of 2k+1 columns: the digital lines y = c + round(x t) cover every pixel once, so
 * a running sum along each gives every segment's mean in O(1); segments are cut at the edges.
 */
function rowLedLineMeans(z: Float64Array, h: number, w: number, slopes: { t: number; k: number }[], up: Float64Array, down: Float64Array, x0: number): void {
  const prefix = new Float64Array(w + 1);
  const index = new Int32Array(w);
  const offset = new Int32Array(w);
  for (const { t, k } of slopes) {
    // The lines of the whole photo, whose first column is x0 columns to the left: the same segments in every window.
    for (let x = 0; x < w; x++) offset[x] = Math.round((x0 + x) * t);
    const first = Math.min(offset[0], offset[w - 1]);
    const last = Math.max(offset[0], offset[w - 1]);
    const rising = offset[w - 1] >= offset[0];
    // [start, end): the columns where line c is inside the image. Taking rising lines from the
    // bottom up and falling ones from the top down, both only move right.
    let start = 0;
    let end = 0;
    const count = h + last - first;
    for (let q = 0; q < count; q++) {
      const c = rising ? h - 1 - first - q : q - last;
      if (rising) {
        while (start < w && c + offset[start] < 0) start++;
        while (end < w && c + offset[end] < h) end++;
      } else {
        while (start < w && c + offset[start] >= h) start++;
        while (end < w && c + offset[end] >= 0) end++;
      }
      let n = 0;
      for (let x = start; x < end; x++) {
        const p = (c + offset[x]) * w + x;
        index[n] = p;
        prefix[n + 1] = prefix[n] + z[p];
        n++;
      }
      for (let i = 0; i < n; i++) {
        const lo = i > k ? i - k : 0;
        const hi = i + k + 1 < n ? i + k + 1 : n;
        const m = (prefix[hi] - prefix[lo]) / (hi - lo);
        const p = index[i];
        if (m > up[p]) up[p] = m;
        if (m < down[p]) down[p] = m;
      }
    }
  }
}

/**
 * The largest and smallest mean of z along segments of about 2 half + 1 pixels through each pixel,
 * over `angles` orientations; the orientations nearer the vertical run on the transposed image, so
 * that every pass walks memory along rows.
 */
function lineMeans(z: Float64Array, h: number, w: number, half: number, angles: number, y0 = 0, x0 = 0): { up: Float64Array; down: Float64Array } {
  const hw = h * w;
  const up = new Float64Array(hw).fill(-Infinity);
  const down = new Float64Array(hw).fill(Infinity);
  const rows: { t: number; k: number }[] = [];
  const cols: { t: number; k: number }[] = [];
  for (let a = 0; a < angles; a++) {
    const theta = (Math.PI * a) / angles;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    if (Math.abs(cos) >= Math.abs(sin)) rows.push({ t: sin / cos, k: Math.max(1, Math.round(half * Math.abs(cos))) });
    else cols.push({ t: cos / sin, k: Math.max(1, Math.round(half * Math.abs(sin))) });
  }
  rowLedLineMeans(z, h, w, rows, up, down, x0);
  if (cols.length) {
    const upT = new Float64Array(hw).fill(-Infinity);
    const downT = new Float64Array(hw).fill(Infinity);
    rowLedLineMeans(transpose(z, h, w), w, h, cols, upT, downT, y0);
    const u = transpose(upT, w, h);
    const d = transpose(downT, w, h);
    for (let p = 0; p < hw; p++) {
      if (u[p] > up[p]) up[p] = u[p];
      if (d[p] < down[p]) down[p] = d[p];
    }
  }
  return { up, down };
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

/** Mean over the (2r+1)^2 square (edges replicated), separable running sums. */
function boxMean(src: Float64Array, h: number, w: number, r: number): Float64Array {
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let s = 0;
    for (let k = -r; k <= r; k++) s += src[row + Math.min(w - 1, Math.max(0, k))];
    for (let x = 0; x < w; x++) {
      tmp[row + x] = s / n;
      s += src[row + Math.min(w - 1, x + r + 1)] - src[row + Math.max(0, x - r)];
    }
  }
  for (let x = 0; x < w; x++) {
    let s = 0;
    for (let k = -r; k <= r; k++) s += tmp[Math.min(h - 1, Math.max(0, k)) * w + x];
    for (let y = 0; y < h; y++) {
      out[y * w + x] = s / n;
      s += tmp[Math.min(h - 1, y + r + 1) * w + x] - tmp[Math.max(0, y - r) * w + x];
    }
  }
  return out;
}

/** Largest and smallest value over the (2r+1)^2 square (edges replicated), a row pass then a column pass. */
function rangeFilter(src: Float64Array, h: number, w: number, r: number): { max: Float64Array; min: Float64Array } {
  const hw = h * w;
  const rowMax = new Float64Array(hw);
  const rowMin = new Float64Array(hw);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let hi = -Infinity;
      let lo = Infinity;
      for (let k = Math.max(0, x - r); k <= Math.min(w - 1, x + r); k++) {
        const v = src[y * w + k];
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
      rowMax[y * w + x] = hi;
      rowMin[y * w + x] = lo;
    }
  const max = new Float64Array(hw);
  const min = new Float64Array(hw);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let hi = -Infinity;
      let lo = Infinity;
      for (let k = Math.max(0, y - r); k <= Math.min(h - 1, y + r); k++) {
        const a = rowMax[k * w + x];
        const b = rowMin[k * w + x];
        if (a > hi) hi = a;
        if (b < lo) lo = b;
      }
      max[y * w + x] = hi;
      min[y * w + x] = lo;
    }
  return { max, min };
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
  return { L, h, w, sigma, floor: Math.max(sigma, MIN_SPREAD), coarse: { data: medianFilter(d.data, d.h, d.w, 3), H: d.h, W: d.w, s } };
}

/** Pixels of a window's side, margins included; a multiple of 8, so that the spread's blocks fall on the same grid in every window. */
const WINDOW = 768;
/** What a window computes beyond its tile on each side: the spread's blocks (24 px) and the line segments (7 px) reach 31 px. */
const MARGIN = 32;
const TILE = WINDOW - 2 * MARGIN;

/** The features of the tile [y0, y1) x [x0, x1), computed on it and MARGIN pixels around it (cut at the photo's edges). */
function tileFeatures(sc: Scene, y0: number, x0: number, y1: number, x1: number): Float32Array {
  const wy0 = Math.max(0, y0 - MARGIN);
  const wx0 = Math.max(0, x0 - MARGIN);
  const h = Math.min(sc.h, y1 + MARGIN) - wy0;
  const w = Math.min(sc.w, x1 + MARGIN) - wx0;
  const hw = h * w;
  const L = new Float64Array(hw);
  for (let y = 0; y < h; y++) L.set(sc.L.subarray((wy0 + y) * sc.w + wx0, (wy0 + y) * sc.w + wx0 + w), y * w);
  const { floor } = sc;
  const F = FEATURE_NAMES.length;
  const all = new Float32Array(F * hw);
  const plane = (name: (typeof FEATURE_NAMES)[number]) => FEATURE_NAMES.indexOf(name) * hw;
  const bg2 = medianFilter(L, h, w, 2);
  const r2 = new Float64Array(hw);
  for (let p = 0; p < hw; p++) r2[p] = L[p] - bg2[p];
  const spread = localSpread(r2, h, w, 16);
  const den = new Float64Array(hw);
  const z2 = new Float64Array(hw);
  for (let p = 0; p < hw; p++) {
    den[p] = Math.max(1.4826 * spread[p], floor);
    z2[p] = r2[p] / den[p];
  }
  all.set(z2, plane('z2'));
  for (const [name, r] of [
    ['z1', 1],
    ['z3', 3],
  ] as const) {
    const bg = medianFilter(L, h, w, r);
    const o = plane(name);
    for (let p = 0; p < hw; p++) all[o + p] = (L[p] - bg[p]) / den[p];
  }
  {
    const { data, H, W, s } = sc.coarse;
    const rc = upsample(data, H, W, s, h, w, wy0, wx0);
    for (let p = 0; p < hw; p++) rc[p] = L[p] - rc[p];
    const spreadC = localSpread(rc, h, w, 16);
    const o = plane('zc');
    for (let p = 0; p < hw; p++) all[o + p] = rc[p] / Math.max(1.4826 * spreadC[p], floor);
  }
  {
    const { up, down } = lineMeans(z2, h, w, 7, 12, wy0, wx0);
    all.set(up, plane('lineUp'));
    all.set(down, plane('lineDown'));
  }
  const n3 = rangeFilter(z2, h, w, 1);
  const n5 = rangeFilter(z2, h, w, 2);
  all.set(n3.max, plane('max3'));
  all.set(n3.min, plane('min3'));
  all.set(n5.max, plane('max5'));
  all.set(n5.min, plane('min5'));
  all.set(boxMean(z2, h, w, 2), plane('mean5'));
  const ot = plane('texture');
  const on = plane('noise');
  const ol = plane('level');
  const oc = plane('contrast');
  const oe = plane('edge');
  const noise = Math.log(floor / 0.02);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      all[ot + p] = Math.log(den[p] / floor);
      all[on + p] = noise;
      all[ol + p] = L[p] - 0.5;
      all[oc + p] = 10 * r2[p];
      // Central differences of the background, one-sided at the edges.
      const gx = bg2[y * w + Math.min(w - 1, x + 1)] - bg2[y * w + Math.max(0, x - 1)];
      const gy = bg2[Math.min(h - 1, y + 1) * w + x] - bg2[Math.max(0, y - 1) * w + x];
      all[oe + p] = Math.log(1 + (0.5 * Math.sqrt(gx * gx + gy * gy)) / den[p]);
    }
  // The tile's own pixels.
  const th = y1 - y0;
  const tw = x1 - x0;
  const out = new Float32Array(F * th * tw);
  for (let k = 0; k < F; k++)
    for (let y = 0; y < th; y++) {
      const from = k * hw + (y0 - wy0 + y) * w + (x0 - wx0);
      out.set(all.subarray(from, from + tw), k * th * tw + y * tw);
    }
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
  for (const [y0, x0, y1, x1] of tiles(h, w, tile)) {
    const t = tileFeatures(sc, y0, x0, y1, x1);
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
let folded: Layer[] | undefined;

function classifier(): Layer[] {
  if (folded) return folded;
  const K = FEATURE_NAMES.length;
  const trained: readonly string[] = FEATURES;
  if (trained.length !== K || trained.some((name, i) => name !== FEATURE_NAMES[i]))
    throw new Error('engine/estimate/damage-weights.ts was trained on other features; retrain it (model-training/train_damage.py)');
  folded = LAYERS.map((l, i) => {
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
  return folded;
}

/** y = W x + b (ReLU'd if asked), four outputs at a time so that each input is loaded once per four. */
function dense(x: Float64Array, y: Float64Array, { w, b, out, in: m }: Layer, relu: boolean): void {
  let o = 0;
  for (; o + 4 <= out; o += 4) {
    let s0 = b[o];
    let s1 = b[o + 1];
    let s2 = b[o + 2];
    let s3 = b[o + 3];
    const r0 = o * m;
    for (let j = 0; j < m; j++) {
      const v = x[j];
      s0 += w[r0 + j] * v;
      s1 += w[r0 + m + j] * v;
      s2 += w[r0 + 2 * m + j] * v;
      s3 += w[r0 + 3 * m + j] * v;
    }
    y[o] = relu && s0 < 0 ? 0 : s0;
    y[o + 1] = relu && s1 < 0 ? 0 : s1;
    y[o + 2] = relu && s2 < 0 ? 0 : s2;
    y[o + 3] = relu && s3 < 0 ? 0 : s3;
  }
  for (; o < out; o++) {
    let s = b[o];
    for (let j = 0; j < m; j++) s += w[o * m + j] * x[j];
    y[o] = relu && s < 0 ? 0 : s;
  }
}

/** The classifier's probability of damage for each of n pixels whose features f are stored plane by plane; pixel i goes to out[at(i)]. */
function classify(f: Float32Array, n: number, out: Float32Array, at: (i: number) => number): void {
  const layers = classifier();
  const acts = [new Float64Array(FEATURE_NAMES.length), ...layers.map((l) => new Float64Array(l.out))];
  const x = acts[0];
  const last = acts[layers.length];
  for (let i = 0; i < n; i++) {
    // Clamped to the range trained on: the classifier is not asked to extrapolate.
    for (let k = 0; k < x.length; k++) {
      const v = f[k * n + i];
      x[k] = v < LOW[k] ? LOW[k] : v > HIGH[k] ? HIGH[k] : v;
    }
    for (let l = 0; l < layers.length; l++) dense(acts[l], acts[l + 1], layers[l], l < layers.length - 1);
    out[at(i)] = 1 / (1 + Math.exp(-last[0]));
  }
}

/** The probability of damage at each pixel, tile by tile (memory bounded whatever the photo's size). */
export function damageProbability(image: Img): Float32Array {
  const sc = sceneOf(image);
  const { h, w } = sc;
  const out = new Float32Array(h * w);
  for (const [y0, x0, y1, x1] of tiles(h, w, TILE)) {
    const tw = x1 - x0;
    classify(tileFeatures(sc, y0, x0, y1, x1), (y1 - y0) * tw, out, (i) => (y0 + Math.floor(i / tw)) * w + x0 + (i % tw));
  }
  return out;
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
