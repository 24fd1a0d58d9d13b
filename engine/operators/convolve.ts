/**
 * 'Same'-size 2-D convolution under the half-sample symmetric boundary (boundary.ts), and its exact
 * adjoint, on a stack of planes (the channels of a CHW image).
 *
 * The forward pass pads each plane by symmetric extension and slides the flipped kernel over the
 * padded plane; y[i, j] = sum_ab k[a, b] x[i + ca - a, j + cb - b] with the origin (ca, cb) =
 * (floor(kh/2), floor(kw/2)). The adjoint is the transpose of exactly that: scatter every output
 * back through the taps into a padded buffer, then fold the padding onto the pixels it was copied
 * from. Both loop tap-major over contiguous rows, skip zero taps (motion kernels are mostly zeros)
 * and allocate only the padded buffer and the result.
 */
import { symmetricIndex } from './boundary.js';
import type { Kernel } from './kernels.js';

interface Plan {
  padded: Float64Array;
  hp: number;
  wp: number;
  /** Source row and column of every padded row and column. */
  rowFrom: Int32Array;
  colFrom: Int32Array;
  /** The non-zero taps of the flipped kernel: offsets into the padded plane and weights. */
  tapRow: Int32Array;
  tapCol: Int32Array;
  tapWeight: Float64Array;
}

function plan(h: number, w: number, k: Kernel): Plan {
  const top = k.h - 1 - (k.h >> 1);
  const left = k.w - 1 - (k.w >> 1);
  const hp = h + k.h - 1;
  const wp = w + k.w - 1;
  const rowFrom = Int32Array.from({ length: hp }, (_, p) => symmetricIndex(p - top, h));
  const colFrom = Int32Array.from({ length: wp }, (_, q) => symmetricIndex(q - left, w));
  const rows: number[] = [];
  const cols: number[] = [];
  const weights: number[] = [];
  for (let a = 0; a < k.h; a++) {
    for (let b = 0; b < k.w; b++) {
      const v = k.data[(k.h - 1 - a) * k.w + (k.w - 1 - b)];
      if (v === 0) continue;
      rows.push(a);
      cols.push(b);
      weights.push(v);
    }
  }
  return {
    padded: new Float64Array(hp * wp),
    hp,
    wp,
    rowFrom,
    colFrom,
    tapRow: Int32Array.from(rows),
    tapCol: Int32Array.from(cols),
    tapWeight: Float64Array.from(weights),
  };
}

export function convolveSymmetric(x: Float64Array, planes: number, h: number, w: number, k: Kernel): Float64Array {
  const { padded, hp, wp, rowFrom, colFrom, tapRow, tapCol, tapWeight } = plan(h, w, k);
  const taps = tapWeight.length;
  const hw = h * w;
  const out = new Float64Array(planes * hw);
  for (let c = 0; c < planes; c++) {
    const base = c * hw;
    for (let p = 0; p < hp; p++) {
      const src = base + rowFrom[p] * w;
      const dst = p * wp;
      for (let q = 0; q < wp; q++) padded[dst + q] = x[src + colFrom[q]];
    }
    for (let i = 0; i < h; i++) {
      const o = base + i * w;
      for (let t = 0; t < taps; t++) {
        const v = tapWeight[t];
        const s = (i + tapRow[t]) * wp + tapCol[t];
        for (let j = 0; j < w; j++) out[o + j] += v * padded[s + j];
      }
    }
  }
  return out;
}

export function convolveSymmetricAdjoint(y: Float64Array, planes: number, h: number, w: number, k: Kernel): Float64Array {
  const { padded, hp, wp, rowFrom, colFrom, tapRow, tapCol, tapWeight } = plan(h, w, k);
  const taps = tapWeight.length;
  const hw = h * w;
  const out = new Float64Array(planes * hw);
  for (let c = 0; c < planes; c++) {
    const base = c * hw;
    padded.fill(0);
    for (let i = 0; i < h; i++) {
      const o = base + i * w;
      for (let t = 0; t < taps; t++) {
        const v = tapWeight[t];
        const s = (i + tapRow[t]) * wp + tapCol[t];
        for (let j = 0; j < w; j++) padded[s + j] += v * y[o + j];
      }
    }
    for (let p = 0; p < hp; p++) {
      const dst = base + rowFrom[p] * w;
      const src = p * wp;
      for (let q = 0; q < wp; q++) out[dst + colFrom[q]] += padded[src + q];
    }
  }
  return out;
}
