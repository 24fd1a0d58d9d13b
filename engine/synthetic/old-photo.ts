/**
 * Synthetic old photos for evaluation: a clean photo x blurred, grainy and damaged, in the order the
 * restoration operator models it ("blur, then mask"):
 *
 *   y = clip( (1 - A) (k * x + n) + A V )
 *
 * with k a Gaussian of std blurStd applied by the engine's own blur operator (engine/operators/blur.ts,
 * so the truth matches the operator exactly), n white Gaussian noise of std sigma, and A, V the
 * opacity and colour of damage drawn into the photo (not zeroed): thin scratches, light or dark,
 * straight or gently curved, 1 to 3 px wide with an anti-aliased profile and an opacity that fades
 * along their length; dust specks (irregular blobs of radius about 1 to 4 px); a few small
 * irregular blotches (grey or, on colour photos, a brownish stain), opacity-blended with varied
 * strength so that some are subtle. Marks are composited over one another ("over").
 *
 * The truth: a pixel is `damaged` where the drawn opacity A exceeds DAMAGE_ALPHA (0.25); `observed`
 * is 1 - damaged, the engine's mask convention. Faint fringes more than 1 px from every damaged
 * pixel are not drawn, so every changed pixel lies within 1 px of a damaged one, and every pixel
 * away from the damage equals clip(k * x + n) exactly.
 *
 * A seed draws the damage from one stream and the noise from another, and the damage depends only
 * on the seed and the clean photo, so the same seed puts the same damage on every blur and noise
 * setting. A mark's polarity is set against the luminance of the clean photo around its centre
 * (light on dark, dark on light, either on mid-grey), so that the marked damage can be seen. The
 * damaged fraction is drawn per seed between 2% and 6% of the pixels, shared 55% scratches, 30%
 * dust and 15% blotches (a few per quarter megapixel), so the number of marks scales with the
 * area. Works for 1 or 3 channels (any count; stains are tinted on 3 only) and any size from
 * 16 x 16 up.
 */
import { blur } from '../operators/blur.js';
import { gaussianKernel } from '../operators/kernels.js';
import { LUMA_WEIGHTS } from '../operators/luma.js';
import { Rng } from '../solvers/common.js';
import { type Img, UserError } from '../types.js';

export interface SyntheticOldPhotoOptions {
  seed: number;
  /** Std of the Gaussian blur in pixels; default 1, 0 = no blur. */
  blurStd?: number;
  /** Std of the white Gaussian grain, in image units; default 0.03. */
  sigma?: number;
  /** Draw damage; default true. */
  damage?: boolean;
}

export interface SyntheticOldPhoto {
  /** The old photo, clipped to [0, 1]. */
  image: Img;
  /** h*w, 1 where damage was drawn (opacity above DAMAGE_ALPHA). */
  damaged: Uint8Array;
  /** h*w, 1 - damaged: the engine's mask convention, 1 = observed. */
  observed: Float64Array;
}

/** Drawn opacity above which a pixel counts as damaged. */
export const DAMAGE_ALPHA = 0.25;
/** Smallest side the damage is drawn at. */
export const MIN_OLD_PHOTO_SIDE = 16;
/** Share of the damaged pixels each kind of mark fills. */
const SHARE = { scratches: 0.55, dust: 0.3, blotches: 0.15 } as const;
/** A mark that would overfill its kind's share by more than this fraction of it is dropped (small images). */
const SLACK = 0.25;

/** MurmurHash3's finaliser: a 32-bit mix in which every input bit flips about half the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed for stream k of a seed (1: the damage, 2: the noise). */
const stream = (seed: number, k: number): number => fmix32((seed >>> 0) ^ fmix32(Math.imul(k, 0x9e3779b9) >>> 0)) || 1;

/** The damage layer: opacity A (h*w) and premultiplied colour P (c*h*w), composited mark by mark. */
class Layer {
  readonly alpha: Float64Array;
  readonly colour: Float64Array;
  /** The current mark's coverage, and the pixels it touched. */
  private readonly mark: Float64Array;
  private touched: number[] = [];

  constructor(
    readonly c: number,
    readonly h: number,
    readonly w: number,
  ) {
    this.alpha = new Float64Array(h * w);
    this.colour = new Float64Array(c * h * w);
    this.mark = new Float64Array(h * w);
  }

  /** Raises the current mark's opacity at (y, x) to a (marks take the largest coverage at a pixel). */
  paint(y: number, x: number, a: number): void {
    if (y < 0 || y >= this.h || x < 0 || x >= this.w || !(a > 0)) return;
    const p = y * this.w + x;
    if (this.mark[p] === 0) this.touched.push(p);
    if (a > this.mark[p]) this.mark[p] = Math.min(1, a);
  }

  /**
   * Composites the current mark of colour v (one value per channel) over the layer and returns the
   * pixels it newly damaged, or drops it and returns 0 when it would damage more than `limit`.
   */
  commit(v: readonly number[], limit: number): number {
    const hw = this.h * this.w;
    let added = 0;
    for (const p of this.touched) {
      const before = this.alpha[p];
      if (before <= DAMAGE_ALPHA && this.mark[p] + (1 - this.mark[p]) * before > DAMAGE_ALPHA) added++;
    }
    if (added <= limit)
      for (const p of this.touched) {
        const a = this.mark[p];
        this.alpha[p] = a + (1 - a) * this.alpha[p];
        for (let ch = 0; ch < this.c; ch++) this.colour[ch * hw + p] = a * v[ch] + (1 - a) * this.colour[ch * hw + p];
      }
    for (const p of this.touched) this.mark[p] = 0;
    this.touched = [];
    return added <= limit ? added : 0;
  }
}

/** Draws the damage: marks of each kind until their share of the drawn damaged fraction is filled. */
function drawDamage(clean: Img, rng: Rng): Layer {
  const { c, h, w } = clean;
  const hw = h * w;
  const layer = new Layer(c, h, w);
  const long = Math.max(h, w);
  const short = Math.min(h, w);
  const between = (a: number, b: number) => a + (b - a) * rng.uniform();
  const logBetween = (a: number, b: number) => a * Math.exp(Math.log(b / a) * rng.uniform());
  // Mean luminance of the clean photo over the 5 x 5 pixels around a point, for the mark's polarity.
  const lumaAt = (y: number, x: number): number => {
    let s = 0;
    let n = 0;
    for (let yi = Math.max(0, Math.round(y) - 2); yi <= Math.min(h - 1, Math.round(y) + 2); yi++)
      for (let xi = Math.max(0, Math.round(x) - 2); xi <= Math.min(w - 1, Math.round(x) + 2); xi++) {
        const p = yi * w + xi;
        if (c === 3) s += LUMA_WEIGHTS[0] * clean.data[p] + LUMA_WEIGHTS[1] * clean.data[hw + p] + LUMA_WEIGHTS[2] * clean.data[2 * hw + p];
        else for (let ch = 0; ch < c; ch++) s += clean.data[ch * hw + p] / c;
        n++;
      }
    return n ? s / n : 0.5;
  };
  // A light or dark grey that stands out from the ground: light on dark (luminance below 0.35),
  // dark on light (above 0.65), either in between with a probability that leans against the ground.
  const grey = (y: number, x: number): number[] => {
    const light = rng.uniform() < Math.min(1, Math.max(0, (0.65 - lumaAt(y, x)) / 0.3));
    const level = light ? between(0.82, 1) : between(0, 0.18);
    return new Array<number>(c).fill(level);
  };
  // An irregular blob: radius r0 (1 + sum of three harmonics), soft edge of the given width.
  const blob = (cy: number, cx: number, r0: number, roughness: number, edge: number, opacity: number) => {
    const harmonics = [1, 2, 3].map((k) => ({ k, a: (roughness * between(0.3, 1)) / k, phi: between(0, 2 * Math.PI) }));
    const reach = r0 * (1 + 2 * roughness) + edge;
    for (let y = Math.floor(cy - reach); y <= Math.ceil(cy + reach); y++)
      for (let x = Math.floor(cx - reach); x <= Math.ceil(cx + reach); x++) {
        const dy = y - cy;
        const dx = x - cx;
        const rho = Math.sqrt(dy * dy + dx * dx);
        const theta = Math.atan2(dy, dx);
        let r = 1;
        for (const { k, a, phi } of harmonics) r += a * Math.cos(k * theta + phi);
        const coverage = Math.min(1, Math.max(0, (r0 * r - rho) / edge + 0.5));
        layer.paint(y, x, opacity * coverage);
      }
  };
  const target = between(0.02, 0.06) * hw;
  const guard = 20 + Math.ceil(hw / 10);

  // Blotches first (under the rest): radius 0.5% to 1.6% of the short side, at least 2.5 px.
  let budget = SHARE.blotches * target;
  let filled = 0;
  for (let i = 0; filled < budget && i < guard; i++) {
    const cy = between(0, h);
    const cx = between(0, w);
    const stain = c === 3 && rng.uniform() < 0.5;
    const tone = between(0.45, 0.8);
    const colour = stain ? [tone, 0.78 * tone, 0.48 * tone] : grey(cy, cx);
    blob(cy, cx, Math.max(2.5, short * between(0.005, 0.016)), 0.35, between(1.5, 3), between(0.35, 0.8));
    filled += layer.commit(colour, budget - filled + SLACK * budget);
  }

  // Scratches: length log-uniform from 2% to 70% of the long side, width 1 to 3 px (thin ones
  // likelier), straight or turning by up to a radian in all, opacity fading along the length.
  budget = SHARE.scratches * target;
  filled = 0;
  for (let i = 0; filled < budget && i < guard; i++) {
    let y = between(0, h);
    let x = between(0, w);
    const colour = grey(y, x);
    const length = logBetween(Math.max(6, 0.02 * long), 0.7 * long);
    const radius = (1 + 2 * rng.uniform() ** 2) / 2;
    const turn = rng.uniform() < 0.4 ? 0 : between(-1, 1);
    const wiggle = between(0, 0.15);
    const wavelength = between(15, 60);
    const opacity = between(0.4, 1);
    const fade = between(15, 200);
    const phase = between(0, 2 * Math.PI);
    let angle = between(0, 2 * Math.PI);
    const step = 0.25;
    const reach = Math.ceil(radius + 1);
    for (let s = 0; s <= length; s += step) {
      const a = opacity * (0.8 + 0.2 * Math.sin((2 * Math.PI * s) / fade + phase));
      for (let yy = Math.floor(y) - reach; yy <= Math.floor(y) + reach; yy++)
        for (let xx = Math.floor(x) - reach; xx <= Math.floor(x) + reach; xx++) {
          const d = Math.sqrt((yy - y) ** 2 + (xx - x) ** 2);
          // Area coverage of a stroke of half-width `radius`, softened over 1.5 px.
          layer.paint(yy, xx, a * Math.min(1, Math.max(0, (radius + 0.75 - d) / 1.5)));
        }
      angle += (turn / length) * step + wiggle * Math.sin((2 * Math.PI * s) / wavelength) * (step / wavelength);
      y += step * Math.sin(angle);
      x += step * Math.cos(angle);
    }
    filled += layer.commit(colour, budget - filled + SLACK * budget);
  }

  // Dust: specks of radius 0.7 to 4 px (small ones likelier), light or dark, mostly opaque.
  budget = SHARE.dust * target;
  filled = 0;
  for (let i = 0; filled < budget && i < guard; i++) {
    const cy = between(0, h);
    const cx = between(0, w);
    const colour = grey(cy, cx);
    blob(cy, cx, logBetween(0.7, 4), 0.2, 1, between(0.5, 1));
    filled += layer.commit(colour, budget - filled + SLACK * budget);
  }
  return layer;
}

export function syntheticOldPhoto(clean: Img, options: SyntheticOldPhotoOptions): SyntheticOldPhoto {
  const { c, h, w } = clean;
  const hw = h * w;
  const blurStd = options.blurStd ?? 1;
  const sigma = options.sigma ?? 0.03;
  if (!(Number.isFinite(blurStd) && blurStd >= 0)) throw new UserError(`the blur std must be a number >= 0, got ${blurStd}`);
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new UserError(`the grain std must be a number >= 0, got ${sigma}`);
  if (!Number.isFinite(options.seed)) throw new UserError(`the seed must be a number, got ${options.seed}`);
  if (h < MIN_OLD_PHOTO_SIDE || w < MIN_OLD_PHOTO_SIDE || c < 1 || clean.data.length !== c * hw) {
    throw new UserError(`the image (${w}x${h}, ${c} channel(s)) is too small for a synthetic old photo: it needs at least ${MIN_OLD_PHOTO_SIDE}x${MIN_OLD_PHOTO_SIDE} pixels`);
  }
  const base = blurStd > 0 ? blur({ c, h, w }, gaussianKernel(blurStd)).forward(clean.data) : Float64Array.from(clean.data);
  if (sigma > 0) {
    const noise = new Rng(stream(options.seed, 2));
    for (let i = 0; i < base.length; i++) base[i] += sigma * noise.normal();
  }
  const damaged = new Uint8Array(hw);
  const observed = new Float64Array(hw).fill(1);
  const data = new Float64Array(base.length);
  if (options.damage === false) {
    for (let i = 0; i < base.length; i++) data[i] = Math.min(1, Math.max(0, base[i]));
    return { image: { c, h, w, data }, damaged, observed };
  }
  const layer = drawDamage(clean, new Rng(stream(options.seed, 1)));
  const { alpha, colour } = layer;
  for (let p = 0; p < hw; p++) if (alpha[p] > DAMAGE_ALPHA) damaged[p] = 1;
  // Faint fringes more than 1 px from every damaged pixel are left out.
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (alpha[p] === 0 || damaged[p]) continue;
      let near = false;
      for (let dy = -1; dy <= 1 && !near; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && damaged[yy * w + xx]) {
            near = true;
            break;
          }
        }
      if (!near) alpha[p] = 0;
    }
  for (let p = 0; p < hw; p++) {
    if (damaged[p]) observed[p] = 0;
    const a = alpha[p];
    for (let ch = 0; ch < c; ch++) {
      const i = ch * hw + p;
      data[i] = Math.min(1, Math.max(0, a === 0 ? base[i] : (1 - a) * base[i] + colour[i]));
    }
  }
  return { image: { c, h, w, data }, damaged, observed };
}
