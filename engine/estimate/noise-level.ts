/**
 * The noise level of a photo from the photo itself: the std sigma_y of additive white Gaussian
 * noise per channel, in image units [0, 1].
 *
 * Weak-texture patches, as Liu, Tanaka and Okutomi select them ("Single-Image Noise Level
 * Estimation for Blind Denoising", IEEE TIP 2013): a patch whose gradient energy is below what
 * noise of the current estimate alone reaches with probability 0.99 is taken to hold noise only,
 * and the estimate is refined on those patches until it settles. The noise variance is then read,
 * not from the smallest eigenvalue of their covariance as Liu et al. do (biased low on few patches,
 * so that the selection shrinks round after round), but from the variance of six fixed
 * highest-frequency DCT coefficients of the patches: white noise puts sigma^2 in every orthonormal
 * direction, smooth patches almost nothing there, and the central differences that select patches
 * are nearly blind to those frequencies. Chosen by measurement over
 * Chen et al.'s patch PCA, Liu et al.'s smallest eigenvalue, Donoho's wavelet MAD and Immerkær's
 * Laplacian (docs/ALGORITHM.md, "Noise level from the photo"; bench/studies/noise-level.ts).
 */
import { type Img, UserError } from '../types.js';

export interface NoiseLevelEstimate {
  /** Std of the additive white Gaussian noise per channel, in image units [0, 1]. */
  sigma: number;
  /** Weak-texture patches the estimate was read from (all channels together). */
  patches: number;
  /** Selection rounds until the estimate settled (changed by less than 0.1%). */
  rounds: number;
}

export interface NoiseLevelOptions {
  /** Which planes give patches: every channel (the default; measured best) or the green one only. */
  channels?: 'all' | 'green';
  /** Keep patches that touch 0 or 1 (for the study; leaving them out measured better). */
  keepClipped?: boolean;
  /** Patch side (for the study; NOISE_PATCH measured best). */
  patch?: number;
}

/** Patch side: 6 x 6 measured better than 7 x 7 and 8 x 8 (docs/ALGORITHM.md). */
export const NOISE_PATCH = 6;
/** Patch positions per channel at most; beyond, a regular grid with a wider stride (12 MP in well under a second). */
const MAX_POSITIONS = 40_000;
/** Fewer patches than this give a variance too uncertain to use (about 3% in sigma at 100 x 6 coefficients). */
export const MIN_PATCHES = 100;
/** Rounds of selection at most; it settles in about ten on the development photos. */
const MAX_ROUNDS = 30;

/** The orthonormal 1-D DCT-II basis function of frequency u at sample i of r. */
function dct(u: number, i: number, r: number): number {
  return (u === 0 ? Math.sqrt(1 / r) : Math.sqrt(2 / r)) * Math.cos(((2 * i + 1) * u * Math.PI) / (2 * r));
}

/** The six 2-D DCT directions within two steps of the highest frequency (r-1, r-1), as r*r vectors. */
function highFrequencyDirections(r: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let u = 0; u < r; u++)
    for (let v = 0; v < r; v++) {
      if (u + v < 2 * r - 4) continue;
      const f = new Float64Array(r * r);
      for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) f[i * r + j] = dct(u, i, r) * dct(v, j, r);
      out.push(f);
    }
  return out;
}

/**
 * tau0 with P(texture < sigma^2 tau0) = 0.99 for a patch of white noise alone. The texture, the sum
 * of squared central differences (x[j+1] - x[j-1]) / 2 across and down the patch, is a quadratic form
 * of rank r^2 - 4 (a pattern of period two along both axes has none) and trace r (r - 2), which Liu
 * et al. approximate by a gamma law of shape rank / 2 and the same mean; its 0.99 quantile by Wilson
 * and Hilferty's cube-root normal approximation (within 0.05% of the exact quantile for r = 5 to 8).
 */
function textureThreshold(r: number): number {
  const rank = r * r - 4;
  const shape = rank / 2;
  const scale = (2 * r * (r - 2)) / rank;
  const z99 = 2.3263478740408408;
  return shape * scale * (1 - 1 / (9 * shape) + z99 * Math.sqrt(1 / (9 * shape))) ** 3;
}

export function estimateNoiseLevel(image: Img, options: NoiseLevelOptions = {}): NoiseLevelEstimate {
  const r = options.patch ?? NOISE_PATCH;
  if (!(Number.isInteger(r) && r >= 4)) throw new Error(`estimateNoiseLevel: patch side ${r} must be an integer >= 4`);
  const { h, w } = image;
  const n = h * w;
  const planes = options.channels === 'green' && image.c >= 3 ? [1] : Array.from({ length: image.c }, (_, c) => c);
  const positions = h >= r && w >= r ? (h - r + 1) * (w - r + 1) : 0;
  if (positions * planes.length < MIN_PATCHES) throw new UserError(`the image (${w}x${h}) is too small to estimate its noise level: it needs at least ${MIN_PATCHES} patches of ${r}x${r} pixels`);
  const stride = Math.max(1, Math.ceil(Math.sqrt(positions / MAX_POSITIONS)));
  const dirs = highFrequencyDirections(r);
  const k = dirs.length;
  const data = image.data;
  // Per patch: its texture and its k high-frequency coefficients; patches that touch 0 or 1 apart,
  // since clipping has taken part of their noise away.
  const gather = (clippedToo: boolean) => {
    const texture: number[] = [];
    const coef: number[] = [];
    const v = new Float64Array(r * r);
    for (const c of planes)
      for (let y0 = 0; y0 + r <= h; y0 += stride)
        for (let x0 = 0; x0 + r <= w; x0 += stride) {
          const o = c * n + y0 * w + x0;
          let clipped = false;
          for (let i = 0; i < r; i++)
            for (let j = 0; j < r; j++) {
              const x = data[o + i * w + j];
              v[i * r + j] = x;
              if (x <= 0 || x >= 1) clipped = true;
            }
          if (clipped && !clippedToo) continue;
          let t = 0;
          for (let i = 0; i < r; i++)
            for (let j = 1; j < r - 1; j++) {
              const across = v[i * r + j + 1] - v[i * r + j - 1];
              const down = v[(j + 1) * r + i] - v[(j - 1) * r + i];
              t += 0.25 * (across * across + down * down);
            }
          texture.push(t);
          for (const f of dirs) {
            let p = 0;
            for (let a = 0; a < r * r; a++) p += f[a] * v[a];
            coef.push(p);
          }
        }
    return { texture, coef };
  };
  let patches = gather(options.keepClipped === true);
  // A photo mostly at black or white: better its clipped patches (an estimate biased low) than none.
  if (patches.texture.length < MIN_PATCHES) patches = gather(true);
  const { texture, coef } = patches;
  // The mean over the k directions of the coefficients' variance over the patches below tau.
  const varianceBelow = (tau: number): { variance: number; count: number } => {
    const sum = new Float64Array(k);
    const sq = new Float64Array(k);
    let count = 0;
    for (let q = 0; q < texture.length; q++) {
      if (!(texture[q] < tau)) continue;
      count++;
      for (let f = 0; f < k; f++) {
        const p = coef[q * k + f];
        sum[f] += p;
        sq[f] += p * p;
      }
    }
    let variance = 0;
    for (let f = 0; f < k; f++) variance += sq[f] / count - (sum[f] / count) ** 2;
    return { variance: Math.max(0, variance / k), count };
  };
  const tau0 = textureThreshold(r);
  let est = varianceBelow(Infinity);
  let rounds = 0;
  while (rounds < MAX_ROUNDS) {
    const next = varianceBelow(est.variance * tau0);
    // Too few patches left to read a variance from: keep the estimate of the larger set.
    if (next.count < MIN_PATCHES) break;
    rounds++;
    // Settled; near the fixed point the selection can swap a few patches back and forth for ever.
    const settled = Math.abs(Math.sqrt(next.variance) - Math.sqrt(est.variance)) <= 1e-3 * Math.sqrt(est.variance);
    est = next;
    if (settled) break;
  }
  return { sigma: Math.sqrt(est.variance), patches: est.count, rounds };
}
