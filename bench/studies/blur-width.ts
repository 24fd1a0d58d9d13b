/**
 * How well the width of a Gaussian blur is estimated from the photo itself. The development photos
 * at full size are blurred by the engine's own operator (engine/operators/blur.ts with
 * gaussianKernel, what `--kernel gaussian:STD` restores), then get seeded white Gaussian grain of
 * std 0 to 0.03 per channel, clipped to [0, 1] and rounded to 8 bits as a saved photo is. Methods:
 * the engine's power-spectrum fit (engine/estimate/blur-width.ts) and variants of it, which read
 * the blur added to a photo; and edge estimators, which read each edge's total width, the photo's
 * own softness included: the project's three-scale gradient ratio (blur-edges.ts) and variants,
 * Zhuo and Sim's re-blur gradient ratio as published (raw gradients, sigma0 = 1) and Hu and de
 * Haan's ratio of re-blur differences (sigma_a = 1, sigma_b = 2, inverted exactly).
 *
 * Two errors, since a photo's own softness adds to the blur in quadrature and no single photo tells
 * them apart: the tracking error, reading - sqrt(s'^2 + T0^2) with T0 the photo's own reading, says
 * how well a method follows the blur added; the std error, estimate - s, is what a deblur gets (an
 * edge estimator's estimate is sqrt(total^2 - ref^2)). Prints per method, grain and std s both,
 * the time per megapixel on a 3 MP image (the fastest of three) and the engine's on a 12 MP one.
 * `--methods engine` (under 3 minutes on a 2-core CPU) and `--methods others` (under 7) split the run.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/blur-width.js [--data data/dev] [--images 12] [--methods all|engine|others]
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { type BlurWidthOptions, estimateBlurWidth, lumaPlane, MAX_PIXELS } from '../../engine/estimate/blur-width.js';
import { edgeBlurWidth, type EdgeBlurOptions, SHARP_TOTAL } from './blur-edges.js';
import { estimateNoiseLevel } from '../../engine/estimate/noise-level.js';
import { blur } from '../../engine/operators/blur.js';
import { gaussianKernel } from '../../engine/operators/kernels.js';
import { readImage } from '../../engine/photo/image.js';
import { Rng } from '../../engine/solvers/common.js';
import type { Img } from '../../engine/types.js';
import { pickPhotos } from '../images.js';

const STDS = [0, 0.5, 1, 1.5, 2, 2.5, 3];
const GRAIN = [0, 0.01, 0.02, 0.03];

/** Blur by the engine's operator, add grain, clip and round to 8 bits. */
function degraded(clean: Img, std: number, grain: number, seed: number): Img {
  const x = std > 0 ? blur(clean, gaussianKernel(std)).forward(clean.data) : Float64Array.from(clean.data);
  const rng = new Rng(seed);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(255 * Math.min(1, Math.max(0, x[i] + (grain ? grain * rng.normal() : 0)))) / 255;
  return { ...clean, data: x };
}

// ---- shared pieces of the published methods -------------------------------------------------

function gaussianFilter(plane: Float64Array, h: number, w: number, s: number): Float64Array {
  const k = gaussianKernel(s);
  const row = k.data.subarray(((k.h - 1) / 2) * k.w, ((k.h + 1) / 2) * k.w);
  let sum = 0;
  for (const v of row) sum += v;
  const g = row.map((v) => v / sum);
  const r = (g.length - 1) / 2;
  const idx = (p: number, n: number) => (p < 0 ? -p - 1 : p >= n ? 2 * n - p - 1 : p);
  const tmp = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let k2 = -r; k2 <= r; k2++) v += g[k2 + r] * plane[y * w + idx(x + k2, w)];
      tmp[y * w + x] = v;
    }
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let k2 = -r; k2 <= r; k2++) v += g[k2 + r] * tmp[idx(y + k2, h) * w + x];
      out[y * w + x] = v;
    }
  return out;
}

/** Central-difference gradient magnitude and its direction. */
function centralGradient(p: Float64Array, h: number, w: number): { m: Float64Array; gx: Float64Array; gy: Float64Array } {
  const m = new Float64Array(h * w);
  const gx = new Float64Array(h * w);
  const gy = new Float64Array(h * w);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      gx[i] = (p[i + 1] - p[i - 1]) / 2;
      gy[i] = (p[i + w] - p[i - w]) / 2;
      m[i] = Math.hypot(gx[i], gy[i]);
    }
  return { m, gx, gy };
}

/** Canny-like edge points: local maxima across the edge of m, above a fraction of its 99th percentile among maxima and above the noise. */
function edgePoints(m: Float64Array, gx: Float64Array, gy: Float64Array, h: number, w: number, margin: number, floor: number): number[] {
  const step = [1, w + 1, w, w - 1];
  const cand: number[] = [];
  for (let y = margin; y < h - margin; y++)
    for (let x = margin; x < w - margin; x++) {
      const i = y * w + x;
      if (!(m[i] > floor)) continue;
      const k = ((Math.round(Math.atan2(gy[i], gx[i]) / (Math.PI / 4)) % 4) + 4) % 4;
      if (m[i] > m[i - step[k]] && m[i] >= m[i + step[k]]) cand.push(i);
    }
  const s = Float64Array.from(cand.map((i) => m[i])).sort();
  const top = s[Math.floor(0.99 * (s.length - 1))];
  return cand.filter((i) => m[i] >= 0.1 * top);
}

/** Zhuo and Sim (2011): R = |grad I| / |grad (I * g_1)| at edges, sigma = 1 / sqrt(R^2 - 1), the median over edges. */
function zhuoSim(img: Img): number {
  const { h, w } = img;
  const y = lumaPlane(img);
  const noise = estimateNoiseLevel({ c: 1, h, w, data: y }).sigma;
  const g0 = centralGradient(y, h, w);
  const g1 = centralGradient(gaussianFilter(y, h, w, 1), h, w);
  const t2 = edgePoints(g0.m, g0.gx, g0.gy, h, w, 4, 8 * noise).map((i) => {
    const r = g0.m[i] / g1.m[i];
    return r > 1 ? 1 / (r * r - 1) : Infinity;
  });
  return Math.sqrt(Math.max(0, median(t2)));
}

/**
 * Hu and de Haan (2006): the ratio r = (I - I_a) / (I_a - I_b) of re-blur differences at an edge,
 * read at the edge centre as its limit, the ratio of gradient differences; r(t) =
 * (1/t - 1/sqrt(t^2 + a^2)) / (1/sqrt(t^2 + a^2) - 1/sqrt(t^2 + b^2)) inverted by bisection
 * (the published closed form assumes a, b >> t), the median over edges.
 */
function huDeHaan(img: Img): number {
  const { h, w } = img;
  const a = 1;
  const b = 2;
  const y = lumaPlane(img);
  const noise = estimateNoiseLevel({ c: 1, h, w, data: y }).sigma;
  const g0 = centralGradient(y, h, w);
  const ga = centralGradient(gaussianFilter(y, h, w, a), h, w);
  const gb = centralGradient(gaussianFilter(y, h, w, b), h, w);
  const model = (t: number) => {
    const ta = 1 / Math.hypot(t, a);
    return (1 / t - ta) / (ta - 1 / Math.hypot(t, b));
  };
  const t2 = edgePoints(g0.m, g0.gx, g0.gy, h, w, 8, 8 * noise).map((i) => {
    const r = (g0.m[i] - ga.m[i]) / (ga.m[i] - gb.m[i]);
    if (!(r > 0)) return Infinity;
    // model falls from +inf at t -> 0 towards a limit as t grows.
    let lo = 1e-3;
    let hi = 50;
    if (r >= model(lo)) return 0;
    if (r <= model(hi)) return Infinity;
    for (let k = 0; k < 50; k++) {
      const mid = Math.sqrt(lo * hi);
      if (model(mid) > r) lo = mid;
      else hi = mid;
    }
    return lo * lo;
  });
  return Math.sqrt(Math.max(0, median(t2)));
}

const engine =
  (o: BlurWidthOptions = {}) =>
  (img: Img) =>
    estimateBlurWidth(img, o).std;
const edges =
  (o: EdgeBlurOptions = {}) =>
  (img: Img) =>
    edgeBlurWidth(img, o).total;

/**
 * Each method reads either the blur added to a photo (`added`: the engine's spectrum fit, which
 * puts a photo's own softness in its power law) or the total, own softness included, from which the
 * std is sqrt(total^2 - ref^2). `full` ones run at every grain level and std, the others at grain 0
 * and 0.03 and std 0, 0.5, 1, 2, 3.
 */
const METHODS: { name: string; read: (img: Img) => number; kind: 'added' | 'total'; full?: boolean; engine?: boolean }[] = [
  { name: 'engine: power spectrum fitted by a power law times a Gaussian, above the noise floor', read: engine(), kind: 'added', full: true, engine: true },
  { name: 'the same, unweighted, frequencies 3x above the floor (the first version)', read: engine({ unweighted: true, floorFactor: 3 }), kind: 'added' },
  { name: 'the same, frequencies 3x above the floor', read: engine({ floorFactor: 3 }), kind: 'added' },
  { name: 'the same, the median power of each ring', read: engine({ ring: 'median' }), kind: 'added' },
  { name: 'the same, tiles of 64', read: engine({ tile: 64 }), kind: 'added' },
  { name: 'the same, no noise floor', read: engine({ noNoiseFloor: true }), kind: 'added' },
  { name: 'edges: three-scale gradient ratio, lone straight steps, noise taken out, median (blur-edges.ts)', read: edges(), kind: 'total' },
  { name: 'edges without the tests (linearity, isolation, straightness)', read: edges({ linearity: Infinity, isolation: 0, straightness: 0 }), kind: 'total' },
  { name: 'edges without the noise correction', read: edges({ noNoiseCorrection: true }), kind: 'total' },
  { name: 'Zhuo and Sim 2011: raw gradient ratio at edges, sigma0 = 1', read: zhuoSim, kind: 'total' },
  { name: 'Hu and de Haan 2006: re-blur difference ratio, sigma_a = 1, sigma_b = 2', read: huDeHaan, kind: 'total' },
];

/** A photo enlarged to w x h (for the time per megapixel). */
async function enlarged(path: string, w: number, h: number): Promise<Img> {
  const { data, info } = await sharp(path).rotate().removeAlpha().resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = data[p * 3 + c] / 255;
  return { c: 3, h: info.height, w: info.width, data: out };
}

/** The fastest of three runs after a warm-up, in ms per megapixel. */
function msPerMp(f: (img: Img) => number, img: Img): number {
  f(img);
  let best = Infinity;
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    f(img);
    best = Math.min(best, performance.now() - t0);
  }
  return best / ((img.h * img.w) / 1e6);
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const signed = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(2)}`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string', default: 'data/dev' }, images: { type: 'string', default: '12' }, methods: { type: 'string', default: 'all' } } });
  const photos = pickPhotos(values.data!, Number(values.images));
  const methods = values.methods === 'engine' ? METHODS.filter((m) => m.engine) : values.methods === 'others' ? METHODS.filter((m) => !m.engine) : METHODS;
  // total[method][grain][std] = one total per photo (NaN where the method could not tell).
  const total = methods.map(() => GRAIN.map(() => STDS.map(() => [] as number[])));
  const names: string[] = [];
  const spent = methods.map(() => 0);
  for (const [i, path] of photos.entries()) {
    const clean = (await readImage(path)).image;
    names.push(path.replace(/^.*__/, ''));
    for (const [g, grain] of GRAIN.entries())
      for (const [s, std] of STDS.entries()) {
        const runs = (method: (typeof METHODS)[number]) => method.full || ((grain === 0 || grain === 0.03) && std !== 1.5 && std !== 2.5);
        if (!methods.some(runs)) continue;
        const y = degraded(clean, std, grain, 1000 * i + 10 * s + g + 1);
        for (const [m, method] of methods.entries()) {
          if (!runs(method)) continue;
          let t = NaN;
          const t0 = performance.now();
          try {
            t = method.read(y);
          } catch {
            // A method that cannot tell on this photo: counted as a miss below.
          }
          spent[m] += performance.now() - t0;
          total[m][g][s].push(t);
        }
      }
    console.error(`${names[i]} done; seconds so far per method: ${spent.map((t) => (t / 1000).toFixed(0)).join(' ')}`);
  }
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  console.log(
    `${photos.length} photos at full size; Gaussian blur of std s by the engine's operator, then grain (white, per channel), clipped, 8 bits. ` +
      `Tracking: reading - sqrt(s'^2 + T0^2), T0 the photo's own reading (s = 0, no grain), s' the std of the sampled, truncated kernel. ` +
      `Std error: the estimate - s; methods that read the total estimate sqrt(total^2 - ref^2), ref = SHARP_TOTAL (${SHARP_TOTAL}) for the edges, the median T0 for the published ones.\n`,
  );
  const timing = await enlarged(photos[0], 2000, 1500);
  const summary: string[] = [];
  for (const [m, method] of methods.entries()) {
    const t0 = total[m][0][0];
    const ref = method.kind === 'added' ? 0 : method.name.startsWith('edges') ? SHARP_TOTAL : median(t0.filter(Number.isFinite));
    const ms = msPerMp(method.read, timing);
    if (method.engine || method.name.startsWith('edges:'))
      console.log(`The photos as they are (s = 0, no grain), T0: ${names.map((n, i) => `${n} ${t0[i].toFixed(2)}`).join(', ')}; median ${median(t0).toFixed(2)}.\n`);
    console.log(`### ${method.name}: ${ms.toFixed(0)} ms per megapixel (2000x1500)\n`);
    console.log(line(['grain', 's', 'mean reading', 'tracking: mean abs.', 'worst', 'std: mean', 'mean abs. error', 'worst', 'within 0.3 px']));
    console.log(line(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
    // Over s = 0.5, 1, 2, 3 (what every method runs at), per grain level: the worst tracking error
    // and the estimates within 0.3 px of s; a photo a method cannot read counts as a miss.
    const worst = { track: GRAIN.map(() => 0), within: GRAIN.map(() => [0, 0]), missing: 0 };
    for (const [g, grain] of GRAIN.entries())
      for (const [s, std] of STDS.entries()) {
        const t = total[m][g][s];
        if (!t.length) continue;
        // The kernel's own std: sampled at pixel centres and cut at 3 std, a little below s.
        const k = std > 0 ? gaussianKernel(std) : undefined;
        let kstd = 0;
        if (k) {
          const r = (k.w - 1) / 2;
          for (let i = 0; i < k.h; i++) for (let j = 0; j < k.w; j++) kstd += (j - r) ** 2 * k.data[i * k.w + j];
          kstd = Math.sqrt(kstd);
        }
        const read = t.map((v, i) => ({ v, i })).filter((x) => Number.isFinite(x.v) && Number.isFinite(t0[x.i]));
        const track = read.map(({ v, i }) => ({ err: v - Math.hypot(kstd, t0[i]), photo: names[i] }));
        const est = read.map(({ v, i }) => {
          const e = method.kind === 'added' ? v : Math.sqrt(Math.max(0, v * v - ref * ref));
          return { err: e - std, photo: names[i], v: e };
        });
        const worstOf = (e: { err: number; photo: string }[]) => (e.length ? e.reduce((a, b) => (Math.abs(b.err) > Math.abs(a.err) ? b : a)) : { err: NaN, photo: '-' });
        const wt = worstOf(track);
        const we = worstOf(est);
        const within = est.filter((e) => Math.abs(e.err) <= 0.3).length;
        const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        if (std === 0.5 || std === 1 || std === 2 || std === 3) {
          if (Number.isFinite(wt.err)) worst.track[g] = Math.max(worst.track[g], Math.abs(wt.err));
          worst.within[g][0] += within;
          worst.within[g][1] += t.length;
          worst.missing += t.length - read.length;
        }
        console.log(
          line([
            String(grain),
            std === 0 ? '0 (as is)' : String(std),
            mean(read.map((x) => x.v)).toFixed(2),
            std === 0 && grain === 0 ? '' : mean(track.map((e) => Math.abs(e.err))).toFixed(2),
            std === 0 && grain === 0 ? '' : `${signed(wt.err)} ${wt.photo}`,
            mean(est.map((e) => e.v)).toFixed(2),
            mean(est.map((e) => Math.abs(e.err))).toFixed(2),
            `${signed(we.err)} ${we.photo}`,
            `${within}/${t.length}`,
          ]),
        );
      }
    console.log('');
    const at = (g: number) => GRAIN.indexOf(g);
    summary.push(
      line([method.name, ...[0, 0.03].map((g) => worst.track[at(g)].toFixed(2)), ...[0, 0.03].map((g) => `${worst.within[at(g)][0]}/${worst.within[at(g)][1]}`), String(worst.missing), ms.toFixed(0)]),
    );
  }
  console.log('Over s = 0.5, 1, 2 and 3:\n');
  console.log(line(['method', 'worst tracking error, no grain', 'grain 0.03', 'std within 0.3 px of s, no grain', 'grain 0.03', 'photos not read', 'ms per MP']));
  console.log(line(['---', '---', '---', '---', '---', '---', '---']));
  for (const row of summary) console.log(row);
  if (methods[0]?.engine) {
    const big = await enlarged(photos[0], 4000, 3000);
    console.log(`\nThe engine on a 12 MP photo (4000x3000, read in its centred ${MAX_PIXELS / 1e6} MP window): ${msPerMp(methods[0].read, big).toFixed(0)} ms per megapixel`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
