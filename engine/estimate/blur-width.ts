/**
 * The width of the Gaussian blur a photo has been through, from the photo itself: the std in
 * pixels of the isotropic Gaussian kernel that a deblur (`--kernel gaussian:STD`) should undo.
 *
 * The power spectrum of the luma. A photo's spectrum falls off as a power of the frequency,
 * P(f) = C f^-alpha, alpha from photo to photo about 1.5 to 4 (a soft photo's steeper); a
 * Gaussian blur of std t multiplies it by exp(-(2 pi f)^2 t^2), which no power law can mimic; white
 * noise adds a floor. So the radial power spectrum (Welch: Hann-windowed tiles of TILE x TILE
 * pixels, half overlapping, averaged over the tiles and over the rings of equal frequency), less
 * the floor, is fitted by log P = log C - alpha log f - (2 pi f)^2 t^2 by weighted least squares
 * over the frequencies where it stands at least FLOOR_FACTOR times above the floor (weights: the
 * inverse variance of each ring's logarithm), with alpha at most MAX_ALPHA. The floor is the noise
 * estimateNoiseLevel finds in the luma, and no less than the rounding to 8 bits.
 *
 * What the fit calls blur is what a power law cannot explain. A photo's own softness (lens,
 * sensor, resizing) mostly steepens the power law instead, so the estimate reads the blur added to
 * a photo, not the photo's total: the 12 development photos read 0.24 px on average as they are
 * (docs/ALGORITHM.md, "Blur width from the photo"; bench/studies/blur-width.ts, which compares
 * this with re-blur gradient ratios at edges, Zhuo and Sim's and Hu and de Haan's and the
 * project's own three-scale variant, all of which read the total and so the photo's own softness).
 */
import { fft } from '../linalg/fft.js';
import { type Img, UserError } from '../types.js';
import { estimateNoiseLevel } from './noise-level.js';

export interface BlurWidthEstimate {
  /** Std (px) of the Gaussian blur the photo reads as having been through (0 when it reads sharp). */
  std: number;
  /** The fitted power law's exponent (1.3 to 4.2 on the development photos; at most MAX_ALPHA). */
  alpha: number;
  /** Frequencies (rings) the fit used. */
  rings: number;
  /** Std of the white noise in the luma, as estimated and taken out of the spectrum. */
  noise: number;
}

export interface BlurWidthOptions {
  /** Tile side (a power of two), TILE by default (TILE / 2 for photos smaller than two tiles). */
  tile?: number;
  /** FLOOR_FACTOR by default (for the study). */
  floorFactor?: number;
  /** Per tile and ring, the mean power (the default) or the median (for the study: robust to a pattern's peaks). */
  ring?: 'mean' | 'median';
  /** Every ring weighs the same in the fit (for the study). */
  unweighted?: boolean;
  /** Leave the noise floor out of the fit (for the study). */
  noNoiseFloor?: boolean;
}

/** Tile side of the spectrum (px). */
export const TILE = 128;
/** Frequencies are fitted where the power stands at least this many times above the noise floor (weighted: those near it count little). */
export const FLOOR_FACTOR = 1.5;
/** The rounding to 8 bits: a uniform error of variance 1 / (12 * 255^2). */
const QUANTISATION = 1 / (12 * 255 * 255);
/** Photos larger than this (pixels) are read in their centred window of this size: spectrum enough, a bounded time. */
export const MAX_PIXELS = 4_000_000;
/** Tiles at most; beyond, a wider stride over the window. */
const MAX_TILES = 256;
/** The smallest side: two tiles of TILE / 2. */
export const MIN_SIDE = 64;
/** The steepest power law a photo's own spectrum is allowed (the development photos fit 1.3 to 4.2). */
export const MAX_ALPHA = 5;
/** Fewer rings than this above the floor leave the three-parameter fit undetermined. */
export const MIN_RINGS = 6;

/** The luma (Rec. 601) of a colour image; the plane itself for a grey one. */
export function lumaPlane(image: Img): Float64Array {
  const n = image.h * image.w;
  if (image.c < 3) return image.data.subarray(0, n);
  const out = new Float64Array(n);
  const d = image.data;
  for (let p = 0; p < n; p++) out[p] = 0.299 * d[p] + 0.587 * d[n + p] + 0.114 * d[2 * n + p];
  return out;
}

/** The centred window of at most `most` pixels, of the plane's proportions (the plane itself when it is smaller). */
export function centreWindow(plane: Float64Array, h: number, w: number, most: number): { plane: Float64Array; h: number; w: number } {
  if (h * w <= most) return { plane, h, w };
  const f = Math.sqrt(most / (h * w));
  const wh = Math.floor(h * f);
  const ww = Math.floor(w * f);
  const y0 = (h - wh) >> 1;
  const x0 = (w - ww) >> 1;
  const out = new Float64Array(wh * ww);
  for (let y = 0; y < wh; y++) out.set(plane.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + ww), y * ww);
  return { plane: out, h: wh, w: ww };
}

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/**
 * The radial power spectrum of the plane: per ring k = 1 .. n/2 - 1 (frequency k / n cycles per
 * pixel), the power per pixel of the Hann-windowed tiles, averaged over the tiles; white noise of
 * variance v reads v in every ring.
 */
function radialSpectrum(plane: Float64Array, h: number, w: number, n: number, ring: 'mean' | 'median'): Float64Array {
  const win = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
  let norm = 0;
  for (const a of win) for (const b of win) norm += (a * b) ** 2;
  const rings = n / 2;
  // Which ring each coefficient falls in (-1: outside), and how many fall in each.
  const ringOf = new Int32Array(n * n);
  const size = new Int32Array(rings);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const k = Math.round(Math.hypot(i < n / 2 ? i : i - n, j < n / 2 ? j : j - n));
      ringOf[i * n + j] = k >= 1 && k < rings ? k : -1;
      if (k >= 1 && k < rings) size[k]++;
    }
  // Tile origins: half overlapping, or on a wider stride where that would make too many.
  const across = (len: number) => Math.max(1, Math.floor((len - n) / (n / 2)) + 1);
  const ty = across(h);
  const tx = across(w);
  const thin = Math.max(1, Math.ceil(Math.sqrt((ty * tx) / MAX_TILES)));
  const origins = (len: number, count: number) => Array.from({ length: Math.ceil(count / thin) }, (_, i) => Math.min(len - n, Math.round((i * thin * (len - n)) / Math.max(1, count - 1))));
  const power = new Float64Array(rings);
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  const rr = new Float64Array(n);
  const ri = new Float64Array(n);
  const values = Array.from({ length: rings }, (_, k) => new Float64Array(size[k]));
  const filled = new Int32Array(rings);
  let tiles = 0;
  for (const y0 of origins(h, ty))
    for (const x0 of origins(w, tx)) {
      let mean = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mean += plane[(y0 + i) * w + x0 + j];
      mean /= n * n;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) rr[j] = (plane[(y0 + i) * w + x0 + j] - mean) * win[i] * win[j];
        ri.fill(0);
        fft(rr, ri);
        re.set(rr, i * n);
        im.set(ri, i * n);
      }
      filled.fill(0);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          rr[i] = re[i * n + j];
          ri[i] = im[i * n + j];
        }
        fft(rr, ri);
        for (let i = 0; i < n; i++) {
          const k = ringOf[i * n + j];
          if (k < 0) continue;
          const p = (rr[i] * rr[i] + ri[i] * ri[i]) / norm;
          if (ring === 'mean') power[k] += p / size[k];
          else values[k][filled[k]++] = p;
        }
      }
      // The median of |X|^2 over a ring of one power is ln 2 times its mean (an exponential law).
      if (ring === 'median') for (let k = 1; k < rings; k++) power[k] += median(values[k]) / Math.LN2;
      tiles++;
    }
  return power.map((p) => p / tiles);
}

export function estimateBlurWidth(image: Img, options: BlurWidthOptions = {}): BlurWidthEstimate {
  const { h: ih, w: iw } = image;
  if (ih < MIN_SIDE || iw < MIN_SIDE) throw new UserError(`the image (${iw}x${ih}) is too small to estimate its blur: it needs at least ${MIN_SIDE} pixels on each side`);
  const { plane, h, w } = centreWindow(lumaPlane(image), ih, iw, MAX_PIXELS);
  const n = options.tile ?? (Math.min(h, w) >= 2 * TILE ? TILE : TILE / 2);
  if (!(Number.isInteger(Math.log2(n)) && n >= 16 && n <= Math.min(h, w))) throw new Error(`estimateBlurWidth: tile ${n} must be a power of two from 16 to the image's smaller side`);
  const noise = estimateNoiseLevel({ c: 1, h, w, data: plane }).sigma;
  const floor = options.noNoiseFloor ? 0 : Math.max(noise * noise, QUANTISATION);
  const factor = options.floorFactor ?? FLOOR_FACTOR;
  const power = radialSpectrum(plane, h, w, n, options.ring ?? 'mean');
  // Least squares of [1, -log f, -(2 pi f)^2] . [log C, alpha, t^2] = log(P - floor), by the normal equations.
  const M = new Float64Array(9);
  const v = new Float64Array(3);
  let rings = 0;
  // Ring 1 holds what the tile's window leaks from the lowest frequencies: left out.
  for (let k = 2; k < n / 2; k++) {
    const p = power[k];
    if (!(p > factor * Math.max(floor, QUANTISATION))) continue;
    const f = k / n;
    const a = [1, -Math.log(f), -((2 * Math.PI * f) ** 2)];
    const b = Math.log(p - floor);
    // The log of the power less the floor scatters as P / (P - floor) over the square root of the
    // ring's coefficients (its circumference): weighted by the inverse of that variance.
    const wt = options.unweighted ? 1 : k * ((p - floor) / p) ** 2;
    for (let i = 0; i < 3; i++) {
      v[i] += wt * a[i] * b;
      for (let j = 0; j < 3; j++) M[3 * i + j] += wt * a[i] * a[j];
    }
    rings++;
  }
  if (rings < MIN_RINGS) throw new UserError(`the image (${iw}x${ih}) has too little detail above its noise to estimate its blur: it needs ${MIN_RINGS} frequencies above the noise, it has ${rings}`);
  // Cramer's rule.
  const det = (m: ArrayLike<number>) => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const D = det(M);
  let alpha = det([M[0], v[0], M[2], M[3], v[1], M[5], M[6], v[2], M[8]]) / D;
  let t2 = det([M[0], M[1], v[0], M[3], M[4], v[1], M[6], M[7], v[2]]) / D;
  if (alpha > MAX_ALPHA) {
    // No photo falls off that steeply by itself (the development photos: 1.3 to 4.2): what the
    // power law took is blur. Refitted with alpha at the bound, by the normal equations of
    // [1, -(2 pi f)^2] . [log C, t^2] = log(P - floor) + alpha log f (the same rows and weights:
    // the alpha column moves to the right-hand side).
    alpha = MAX_ALPHA;
    const r0 = v[0] - alpha * M[1];
    const r2 = v[2] - alpha * M[7];
    t2 = (M[0] * r2 - M[6] * r0) / (M[0] * M[8] - M[2] * M[6]);
  }
  return { std: Math.sqrt(Math.max(0, t2)), alpha, rings, noise };
}

/** Below this std (px) a photo reads sharp: there is nothing for a deblur to undo. */
export const SHARP_STD = 0.3;

export interface EstimatedKernel extends BlurWidthEstimate {
  /** The Gaussian for the deblur operator (std to 0.01 px); absent when the photo reads sharp (std below SHARP_STD). */
  kernel?: { type: 'gaussian'; std: number };
}

/**
 * The deblur kernel a photo needs, for the CLI's `--kernel auto` and the app: the estimate and, when
 * the photo does not read sharp, the Gaussian of that std. Throws UserError when the photo is too
 * small or has too little detail to tell.
 */
export function estimatedBlurKernel(image: Img, options: BlurWidthOptions = {}): EstimatedKernel {
  const e = estimateBlurWidth(image, options);
  return e.std >= SHARP_STD ? { ...e, kernel: { type: 'gaussian', std: Math.round(100 * e.std) / 100 } } : e;
}
