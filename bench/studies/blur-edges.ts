/**
 * For bench/studies/blur-width.ts: the width of a Gaussian blur read at edges, the candidate the
 * engine's spectral estimator (engine/estimate/blur-width.ts) was measured against and chosen over.
 *
 * Edges read at three scales. A step edge of contrast A blurred by a Gaussian of total std t, seen
 * through a derivative-of-Gaussian filter of scale s, has the gradient magnitude
 * A / sqrt(2 pi (t^2 + s^2)) at its centre, so u = 1 / G^2 is a straight line in s^2 whose
 * intercept over slope is t^2, free of the contrast. With two scales this is Zhuo and Sim's re-blur
 * gradient ratio ("Defocus map estimation from a single image", Pattern Recognition 2011), here
 * with every gradient through a Gaussian derivative (raw differences read noise and aliasing);
 * the third scale tests the line: lines, bars and crowded edges bend it. Per edge point (a local
 * maximum across the edge of the coarsest scale's gradient, the least noisy) each scale is read
 * at the same place between the pixels, the peak of a parabola through the logarithms of three
 * samples across the edge; white noise of the level estimateNoiseLevel finds is taken out of every
 * squared gradient. Points are kept when u is straight within LINEARITY (plus what the noise
 * allows), when the profile across the edge is a single bump out to ISOLATION widths (no other
 * edge near enough to bend the readings) and when the edge runs straight along STRAIGHTNESS
 * widths; t^2 is their median. Every test is blind to the point's own reading, which would
 * otherwise bias the median (the widths come from the estimate so far, over PASSES rounds).
 *
 * t is the total: the photo's own softness (lens, sensor, demosaicking, resizing) and the added
 * blur add in quadrature, and no single photo tells them apart. `std` is the blur beyond a sharp
 * photo's, sqrt(t^2 - SHARP_TOTAL^2) (docs/ALGORITHM.md, "Blur width from the photo";
 * bench/studies/blur-width.ts).
 */
import { estimateNoiseLevel } from '../../engine/estimate/noise-level.js';
import { type Img, UserError } from '../../engine/types.js';
import { centreWindow, lumaPlane } from '../../engine/estimate/blur-width.js';

export interface EdgeBlurEstimate {
  /** Std (px) of the Gaussian blur beyond a sharp photo's own softness: what a deblur should undo. */
  std: number;
  /** Total equivalent Gaussian std (px) of the photo's edges, its own softness included. */
  total: number;
  /** Edge points the median was taken over. */
  edges: number;
  /** Edge points left out because their profile across scales is not a step's. */
  rejected: number;
  /** Std of the white noise in the luma, as estimated and taken out of the gradients. */
  noise: number;
}

export interface EdgeBlurOptions {
  /** The derivative-of-Gaussian scales (px), BLUR_SCALES by default; with two there is no linearity test. */
  scales?: readonly number[];
  /** The total std a sharp photo reads (px); SHARP_TOTAL by default. */
  sharpTotal?: number;
  /** The tests, for the study: LINEARITY, ISOLATION and STRAIGHTNESS by default; Infinity, 0 and 0 leave them out. */
  linearity?: number;
  isolation?: number;
  straightness?: number;
  /** Where edge points are chosen and tested (for the study): the coarsest scale by default. */
  selectAt?: 'finest' | 'coarsest';
  /** Leave the noise in the gradients (for the study). */
  noNoiseCorrection?: boolean;
  /** Which quantile of the points' t^2 to read (for the study): the median by default. */
  quantile?: number;
}

/** The three scales (px): s^2 = 1, 2.5 and 4, evenly spaced for the line in s^2. */
export const BLUR_SCALES = [1, Math.sqrt(2.5), 2] as const;
/** Largest distance of u = 1 / G^2 from its straight line in s^2, as a fraction of u's mean over the scales. */
export const LINEARITY = 0.03;
/** How far across an edge, in its widths at the largest scale, no other edge may be. */
export const ISOLATION = 2.5;
/** How far along an edge, in the same widths, it must run straight. */
export const STRAIGHTNESS = 1;
/** How far (a fraction of the peak) the profile across an edge may rise again or go below zero. */
export const SLACK = 0.2;
/** The least noise (std, image units) the tests allow for. */
export const TEST_NOISE = 0.01;
/** Edge points are those at least this fraction of the strongest 1% (in gradient). */
export const STRENGTH = 0.1;
/** Rounds of the tests, each with the widths of the last estimate. */
export const PASSES = 2;
const TAN_22_5 = Math.tan(Math.PI / 8);
/** The cosine of the largest turn of the gradient along a straight edge (10 degrees). */
const STRAIGHT_COS = Math.cos((10 * Math.PI) / 180);
/**
 * The total a sharp photo reads (px), taken out of every estimate in quadrature: chosen on the 12
 * development photos as they are (they read 0.3 to 3.0, median 1.07), as the value that puts the
 * most estimates within 0.3 px of the blur added to them (docs/ALGORITHM.md).
 */
export const SHARP_TOTAL = 0.9;
/** Photos larger than this (pixels) are read in their centred window of this size: edges enough, a bounded time. */
export const MAX_PIXELS = 4_000_000;
/** Fewer edge points than this leave the median too uncertain. */
export const MIN_EDGES = 50;
/** The smallest side the filters of the larger scale leave room for. */
export const MIN_SIDE = 24;

/** A sampled Gaussian of std s, sum 1, radius ceil(4 s). */
function gaussianTaps(s: number): Float64Array {
  const r = Math.ceil(4 * s);
  const g = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * s * s)));
  let sum = 0;
  for (const v of g) sum += v;
  return g.map((v) => v / sum);
}

const mirror = (p: number, n: number): number => {
  // Half-sample symmetric, as the blur operator's boundary (engine/operators/boundary.ts).
  const period = 2 * n;
  let q = p % period;
  if (q < 0) q += period;
  return q < n ? q : period - 1 - q;
};

/**
 * out = (plane filtered along rows by kr) then along columns by kc: each kernel of odd length and
 * either symmetric (a Gaussian) or antisymmetric (its derivative), which halves the products. The
 * column pass runs over whole rows, which keeps it in the cache.
 */
function separable(plane: Float64Array, h: number, w: number, kr: Float64Array, kc: Float64Array): Float64Array {
  const r = (kr.length - 1) / 2;
  const sr = kr[0] === kr[kr.length - 1] ? 1 : -1;
  const tmp = new Float64Array(h * w);
  const line = new Float64Array(w + 2 * r);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = -r; x < w + r; x++) line[x + r] = plane[row + mirror(x, w)];
    for (let x = 0; x < w; x++) {
      // out[x] = sum_j k[r + j] a[x - j], a[x] = line[x + r].
      let s = kr[r] * line[x + r];
      for (let j = 1; j <= r; j++) s += kr[r + j] * (line[x + r - j] + sr * line[x + r + j]);
      tmp[row + x] = s;
    }
  }
  const rc = (kc.length - 1) / 2;
  const sc = kc[0] === kc[kc.length - 1] ? 1 : -1;
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const c0 = kc[rc];
    if (c0 !== 0) for (let x = 0; x < w; x++) out[row + x] = c0 * tmp[row + x];
    for (let j = 1; j <= rc; j++) {
      const c = kc[rc + j];
      const before = mirror(y - j, h) * w;
      const after = mirror(y + j, h) * w;
      for (let x = 0; x < w; x++) out[row + x] += c * (tmp[before + x] + sc * tmp[after + x]);
    }
  }
  return out;
}

interface Scale {
  /** gx^2 + gy^2 less the part white noise of std sigma puts in it. */
  e: Float64Array;
  gx: Float64Array;
  gy: Float64Array;
  /** That part, and the part per unit noise variance. */
  noise: number;
  unit: number;
  /** The scale's std (px). */
  std: number;
}

/** A sampled Gaussian of std s (sum 1) and its derivative (sum of i d[i] = 1: a ramp of slope 1 reads 1), radius ceil(4 s). */
function gaussianPair(s: number): { g: Float64Array; d: Float64Array } {
  const g = gaussianTaps(s);
  const r = (g.length - 1) / 2;
  const d = Float64Array.from(g, (v, i) => (i - r) * v);
  let moment = 0;
  for (let i = 0; i < d.length; i++) moment += (i - r) * d[i];
  return { g, d: d.map((v) => v / moment) };
}

/**
 * The gradient at each scale through sampled derivative-of-Gaussian filters (the edge model is
 * theirs; a central difference after smoothing reads narrow edges too narrow), less the part white
 * noise of std sigma puts in its square.
 */
function gradientScales(plane: Float64Array, h: number, w: number, scales: readonly number[], sigma: number): Scale[] {
  return scales.map((std) => {
    const { g, d } = gaussianPair(std);
    const gx = separable(plane, h, w, d, g);
    const gy = separable(plane, h, w, g, d);
    let sd = 0;
    let sg = 0;
    for (const v of d) sd += v * v;
    for (const v of g) sg += v * v;
    // Each component of white noise filtered: sigma^2 sum d^2 sum g^2; the magnitude has two.
    const unit = 2 * sd * sg;
    const noise = unit * sigma * sigma;
    const e = new Float64Array(h * w);
    for (let p = 0; p < e.length; p++) e[p] = gx[p] * gx[p] + gy[p] * gy[p] - noise;
    return { e, gx, gy, noise, unit, std };
  });
}

function quantileOf(v: number[], q: number): number {
  const s = Float64Array.from(v).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

export function edgeBlurWidth(image: Img, options: EdgeBlurOptions = {}): EdgeBlurEstimate {
  const { h: ih, w: iw } = image;
  if (ih < MIN_SIDE || iw < MIN_SIDE) throw new UserError(`the image (${iw}x${ih}) is too small to estimate its blur: it needs at least ${MIN_SIDE} pixels on each side`);
  const scales = options.scales ?? BLUR_SCALES;
  const sharpTotal = options.sharpTotal ?? SHARP_TOTAL;
  const tolerance = options.linearity ?? LINEARITY;
  const isolation = options.isolation ?? ISOLATION;
  const straightness = options.straightness ?? STRAIGHTNESS;
  const { plane: y, h, w } = centreWindow(lumaPlane(image), ih, iw, MAX_PIXELS);
  const noise = options.noNoiseCorrection ? 0 : estimateNoiseLevel({ c: 1, h, w, data: y }).sigma;
  const grads = gradientScales(y, h, w, scales, noise);
  // The tests allow for noise of at least TEST_NOISE, so that they pass the same edges from a clean
  // photo to a grainy one.
  const testSigma2 = Math.max(noise, TEST_NOISE) ** 2;
  // Edge points and their tests are read at the coarsest scale, the least noisy: a point chosen
  // where noise lifts the finest gradient would read too narrow.
  const sel = grads[options.selectAt === 'finest' ? 0 : grads.length - 1];
  // Edge points: local maxima of that gradient across the edge (its direction rounded to one of
  // four), away from the border, well above the noise and not far below the photo's strongest edges.
  const margin = Math.ceil(2 * scales[scales.length - 1]) + 1;
  const maxima: number[] = [];
  const dirs: number[] = [];
  const floor = 16 * sel.noise;
  for (let yy = margin; yy < h - margin; yy++)
    for (let x = margin; x < w - margin; x++) {
      const p = yy * w + x;
      const e = sel.e[p];
      if (!(e > floor)) continue;
      // The gradient's direction rounded to the nearest of the four through neighbouring pixels.
      const gx = sel.gx[p];
      const gy = sel.gy[p];
      const ax = Math.abs(gx);
      const ay = Math.abs(gy);
      const o = ay <= TAN_22_5 * ax ? 1 : ax <= TAN_22_5 * ay ? w : gx * gy > 0 ? w + 1 : w - 1;
      if (e > sel.e[p - o] && e >= sel.e[p + o]) {
        maxima.push(p);
        dirs.push(o);
      }
    }
  if (maxima.length < MIN_EDGES) throw new UserError(`the image (${iw}x${ih}) has too few edges to estimate its blur: it needs at least ${MIN_EDGES} edge points well above its noise`);
  const strengths = maxima.map((p) => sel.e[p]);
  const top = quantileOf(strengths, 0.99);
  const keep = STRENGTH ** 2 * top;
  // Least squares of u = 1 / G^2 on s^2 over the scales: u = c (t^2 + s^2) for a step edge.
  const s2 = grads.map((g) => g.std * g.std);
  const m = s2.length;
  const u = new Float64Array(m);
  const points: number[] = [];
  const pointDirs: number[] = [];
  const pointT2: number[] = [];
  let rejected = 0;
  for (let i = 0; i < maxima.length; i++) {
    const p = maxima[i];
    if (sel.e[p] < keep) continue;
    const o = dirs[i];
    // Each scale read at the same place across the edge: the peak of the coarsest scale's parabola
    // through log G^2 at the three samples (a parabola's own peak on noisy samples reads high).
    let ok = true;
    const at = (g: Float64Array): [number, number, number] | undefined => {
      const a = g[p - o];
      const b = g[p];
      const c = g[p + o];
      return a > 0 && b > 0 && c > 0 ? [Math.log(a), Math.log(b), Math.log(c)] : undefined;
    };
    const ref = at(grads[m - 1].e);
    let x0 = 0;
    if (!ref) ok = false;
    else {
      const curv = ref[0] - 2 * ref[1] + ref[2];
      x0 = curv < 0 ? Math.max(-1, Math.min(1, (ref[0] - ref[2]) / (2 * curv))) : 0;
    }
    for (let k = 0; k < m && ok; k++) {
      const l = at(grads[k].e);
      if (!l) ok = false;
      else u[k] = Math.exp(-(l[1] + ((l[2] - l[0]) / 2) * x0 + ((l[0] - 2 * l[1] + l[2]) / 2) * x0 * x0));
    }
    if (!ok) continue;
    let uMean = 0;
    for (let k = 0; k < m; k++) uMean += u[k] / m;
    let xMean = 0;
    for (let k = 0; k < m; k++) xMean += s2[k] / m;
    let cov = 0;
    let xVar = 0;
    for (let k = 0; k < m; k++) {
      cov += (s2[k] - xMean) * (u[k] - uMean);
      xVar += (s2[k] - xMean) ** 2;
    }
    const slope = cov / xVar;
    const intercept = uMean - slope * xMean;
    if (m > 2) {
      // Lines, bars and crowded edges bend u away from a straight line in s^2. Measured against u
      // itself, not the line's rise: a test that leaves out flat lines would leave out the widest
      // edges, whose rise is the smallest, and bias the estimate low.
      let worst = 0;
      for (let k = 0; k < m; k++) worst = Math.max(worst, Math.abs(u[k] - intercept - slope * s2[k]));
      // Plus what noise alone puts there: a relative std of sqrt(2 N / G^2) in each u.
      let spread = 0;
      for (let k = 0; k < m; k++) spread = Math.max(spread, u[k] * Math.sqrt(2 * grads[k].unit * testSigma2 * u[k]));
      if (worst > tolerance * uMean + 2 * spread) {
        rejected++;
        continue;
      }
    }
    points.push(p);
    pointDirs.push(o);
    // A line that does not rise reads as an edge blurred without limit: kept, in the median's upper tail.
    pointT2.push(slope > 0 ? intercept / slope : Infinity);
  }
  // Whether the edge at point i is a lone straight step out to `width` px (its width at the largest scale).
  const lone = (i: number, width: number): boolean => {
    const p = points[i];
    const o = pointDirs[i];
    const nx = sel.gx[p];
    const ny = sel.gy[p];
    const px = p % w;
    const py = (p - px) / w;
    if (isolation > 0) {
      // The profile across the edge at the finest scale must be a single bump out to `isolation`
      // widths on both sides: no other edge, of either sign, close enough to bend the readings.
      const len = o === 1 || o === w ? 1 : Math.SQRT2;
      const steps = Math.ceil((isolation * width) / len);
      const peak = Math.sqrt(sel.e[p] + sel.noise);
      const slack = Math.max(SLACK, (3 * Math.sqrt((sel.unit * testSigma2) / 2)) / peak);
      const dx = o === w ? 0 : o === w - 1 ? -1 : 1;
      const dy = o === 1 ? 0 : 1;
      for (const sgn of [1, -1]) {
        let prev = 1;
        for (let j = 1; j <= steps; j++) {
          const qx = px + sgn * j * dx;
          const qy = py + sgn * j * dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) break;
          const q = qy * w + qx;
          const g = (sel.gx[q] * nx + sel.gy[q] * ny) / peak / peak;
          if (g < -slack || g > prev + slack) return false;
          prev = Math.min(prev, g);
        }
      }
    }
    if (straightness > 0) {
      // ... and straight along the edge over as far: the gradient keeps its direction and most of its size.
      const g0 = Math.hypot(nx, ny);
      const ux = nx / g0;
      const uy = ny / g0;
      const along = straightness * width;
      for (const f of [-1, -0.5, 0.5, 1]) {
        const qx = Math.round(px - f * along * uy);
        const qy = Math.round(py + f * along * ux);
        if (qx < 0 || qy < 0 || qx >= w || qy >= h) return false;
        const q = qy * w + qx;
        const gq = Math.hypot(sel.gx[q], sel.gy[q]);
        if (!(sel.gx[q] * ux + sel.gy[q] * uy >= STRAIGHT_COS * gq && gq >= 0.5 * g0)) return false;
      }
    }
    return true;
  };
  // The widths the tests look over come from each point's own reading and, from the second pass
  // on, from the estimate so far: a point that reads narrow cannot shorten its own test.
  // The widths the tests look over come from the estimate so far, never from the point's own
  // reading: a test that a point passes more easily when it reads narrow biases the estimate low.
  let t2 = pointT2;
  for (let pass = 0; pass < PASSES && t2.length >= MIN_EDGES; pass++) {
    const width = Math.sqrt(Math.max(0, quantileOf(t2, options.quantile ?? 0.5)) + s2[m - 1]);
    t2 = [];
    for (let i = 0; i < points.length; i++) if (lone(i, width)) t2.push(pointT2[i]);
  }
  rejected += points.length - t2.length;
  if (t2.length < MIN_EDGES) throw new UserError(`the image (${iw}x${ih}) has too few edges to estimate its blur: it needs at least ${MIN_EDGES} edge points well above its noise`);
  const t2q = quantileOf(t2, options.quantile ?? 0.5);
  const total = Math.sqrt(Math.max(0, t2q));
  const std = Math.sqrt(Math.max(0, t2q - sharpTotal * sharpTotal));
  return { std, total, edges: t2.length, rejected, noise };
}
