/**
 * Whether a photo is effectively monochrome, so that the app can offer colourisation: a grey
 * photo saved as RGB, a toned print (sepia, cyanotype: a colour that depends on the brightness
 * alone), also when faded, grainy or JPEG-compressed; not a colour photo, faded or cast as it may be.
 *
 * The chroma that the luma does not explain. Per pixel, the chroma (Cb, Cr of Rec. 601) less the
 * median chroma of the pixels of the same luma (GREY_BINS bins): a toned print leaves nothing, a
 * colour cast leaves nothing, faded colours leave a part of their colour. That residual is
 * averaged over blocks of GREY_BLOCK x GREY_BLOCK pixels, which takes grain and most JPEG chroma
 * noise away and keeps what has extent, and the photo is colour when more than GREY_SHARE of the
 * blocks keep a residual above GREY_CHROMA (docs/ALGORITHM.md, "Greyscale detection";
 * bench/studies/greyscale.ts).
 */
import { type Img } from '../types.js';

export interface GreyscaleVerdict {
  /** The photo is effectively monochrome: offer colourisation. */
  greyscale: boolean;
  /** Share of the blocks whose chroma the luma does not explain (above GREY_CHROMA); greyscale below GREY_SHARE. */
  colourShare: number;
  /** The 90th percentile over the blocks of that unexplained chroma (Cb, Cr units, 0 to about 0.7). */
  chroma90: number;
  /** Mean chroma of the photo, (Cb, Cr): a toned print's tone, a colour photo's cast. */
  tone: [number, number];
}

/** Groups of blocks (of equal count, by luma) that give the chroma each luma explains. */
export const GREY_BINS = 32;
/** Side of the blocks the unexplained chroma is averaged over. */
export const GREY_BLOCK = 16;
/** Pixels with a channel within this of 0 or 1 are left out. */
export const GREY_CLIP = 0.02;
/** A block has colour above this much unexplained chroma (Cb, Cr units). */
export const GREY_CHROMA = 0.008;
/** A photo is colour when more than this share of its blocks have colour. */
export const GREY_SHARE = 0.05;

function median(v: number[]): number {
  const s = Float64Array.from(v).sort();
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

export function detectGreyscale(image: Img): GreyscaleVerdict {
  const { h, w } = image;
  if (image.c < 3) return { greyscale: true, colourShare: 0, chroma90: 0, tone: [0, 0] };
  const n = h * w;
  const d = image.data;
  const luma = new Float64Array(n);
  const cb = new Float64Array(n);
  const cr = new Float64Array(n);
  const valid = new Uint8Array(n);
  let cbSum = 0;
  let crSum = 0;
  for (let p = 0; p < n; p++) {
    const y = 0.299 * d[p] + 0.587 * d[n + p] + 0.114 * d[2 * n + p];
    luma[p] = y;
    cb[p] = 0.564 * (d[2 * n + p] - y);
    cr[p] = 0.713 * (d[p] - y);
    cbSum += cb[p];
    crSum += cr[p];
    // A channel at 0 or 1 has lost part of its value, and of its grain: its chroma says little.
    valid[p] = Math.min(d[p], d[n + p], d[2 * n + p]) > GREY_CLIP && Math.max(d[p], d[n + p], d[2 * n + p]) < 1 - GREY_CLIP ? 1 : 0;
  }
  // Block means over the pixels that are not clipped (blocks with fewer than half left out):
  // averaging takes the grain away, and the mean chroma of a 16 x 16 block aligned with a JPEG's
  // grid is what the JPEG keeps best (its chroma DC), however coarsely it kept the rest.
  const bs = GREY_BLOCK;
  const blocks: { y: number; cb: number; cr: number; i: number }[] = [];
  const gw = Math.ceil(w / bs);
  const gh = Math.ceil(h / bs);
  for (let by = 0; by < h; by += bs)
    for (let bx = 0; bx < w; bx += bs) {
      let sy = 0;
      let sb = 0;
      let sr = 0;
      let count = 0;
      let size = 0;
      for (let y = by; y < Math.min(h, by + bs); y++)
        for (let x = bx; x < Math.min(w, bx + bs); x++) {
          const p = y * w + x;
          size++;
          if (!valid[p]) continue;
          sy += luma[p];
          sb += cb[p];
          sr += cr[p];
          count++;
        }
      if (2 * count >= size) blocks.push({ y: sy / count, cb: sb / count, cr: sr / count, i: (by / bs) * gw + bx / bs });
    }
  // Nothing left to judge by (a photo all black or white): nothing says it has colour.
  if (!blocks.length) return { greyscale: true, colourShare: 0, chroma90: 0, tone: [cbSum / n, crSum / n] };
  // The chroma each luma explains: the blocks sorted by luma and cut into groups of equal count
  // (GREY_BINS, fewer on a small photo); per group the median luma and the median chroma, joined
  // by straight lines. Equal counts put the knots where the blocks are, so that a tone curve that
  // bends (a sepia toning near white) is followed where a sky fills the photo. Read from block
  // means rather than pixels: a JPEG's chroma, stored at half resolution, is smoothed over its
  // neighbours, which flattens the chroma that a pixel's own luma seems to explain.
  const byLuma = [...blocks].sort((a, b) => a.y - b.y);
  const groups = Math.max(1, Math.min(GREY_BINS, Math.floor(blocks.length / 8)));
  const knots: { y: number; cb: number; cr: number }[] = [];
  for (let k = 0; k < groups; k++) {
    const group = byLuma.slice(Math.floor((k * blocks.length) / groups), Math.floor(((k + 1) * blocks.length) / groups));
    const knot = { y: median(group.map((g) => g.y)), cb: median(group.map((g) => g.cb)), cr: median(group.map((g) => g.cr)) };
    // Knots of equal luma merge into one.
    if (knots.length && knot.y <= knots[knots.length - 1].y) continue;
    knots.push(knot);
  }
  const explained = (y: number): [number, number] => {
    if (y <= knots[0].y) return [knots[0].cb, knots[0].cr];
    const last = knots[knots.length - 1];
    if (y >= last.y) return [last.cb, last.cr];
    let lo = 0;
    let hi = knots.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (knots[mid].y <= y) lo = mid;
      else hi = mid;
    }
    const a = knots[lo];
    const b = knots[hi];
    const t = (y - a.y) / (b.y - a.y);
    return [a.cb + t * (b.cb - a.cb), a.cr + t * (b.cr - a.cr)];
  };
  // The unexplained chroma of each block, as a vector, averaged with its neighbours' (3 x 3
  // blocks, those there are): what JPEG and grain leave points every way from block to block and
  // cancels, the colour of anything larger than a block adds up.
  const rb = new Float64Array(gw * gh);
  const rr = new Float64Array(gw * gh);
  const has = new Uint8Array(gw * gh);
  for (const b of blocks) {
    const [eb, er] = explained(b.y);
    rb[b.i] = b.cb - eb;
    rr[b.i] = b.cr - er;
    has[b.i] = 1;
  }
  const values: number[] = [];
  for (const b of blocks) {
    const gx = b.i % gw;
    const gy = (b.i - gx) / gw;
    let sb = 0;
    let sr = 0;
    let count = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const x = gx + dx;
        const y = gy + dy;
        if (x < 0 || y < 0 || x >= gw || y >= gh || !has[y * gw + x]) continue;
        sb += rb[y * gw + x];
        sr += rr[y * gw + x];
        count++;
      }
    values.push(Math.hypot(sb, sr) / count);
  }
  let over = 0;
  for (const v of values) if (v > GREY_CHROMA) over++;
  const colourShare = values.length ? over / values.length : 0;
  const sorted = Float64Array.from(values).sort();
  const chroma90 = sorted.length ? sorted[Math.floor(0.9 * (sorted.length - 1))] : 0;
  return { greyscale: colourShare <= GREY_SHARE, colourShare, chroma90, tone: [cbSum / n, crSum / n] };
}
