/**
 * Super-resolution with a box kernel: each output pixel is the mean of an s x s block. The blocks
 * tile the image without overlap, so the rows of A are orthogonal with A A^T = I / s^2. Then
 * P = s^2 A^T A is the orthogonal projector onto block-constant images, which gives every solve in
 * closed form:
 *   A^+ = s^2 A^T,
 *   (alpha A^T A + beta I)^-1 = (I - P) / beta + P / (beta + alpha / s^2).
 */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import { backProjectedBicubic } from './back-projection.js';
import { downsampledShape } from './downsample-shape.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

export class BoxDownsample implements LinearOperator {
  readonly name: string;
  readonly structure = 'row-orthogonal';
  readonly outShape: Shape;

  constructor(
    readonly inShape: Shape,
    readonly scale: number,
  ) {
    this.outShape = downsampledShape(inShape, scale, 'box downsampling');
    this.name = `box downsample x${scale}`;
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'box downsample forward');
    const s = this.scale;
    const { c, h, w } = this.inShape;
    const wo = w / s;
    const out = new Float64Array(size(this.outShape));
    const k = 1 / (s * s);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        const src = (ch * h + i) * w;
        const dst = (ch * (h / s) + Math.floor(i / s)) * wo;
        for (let jo = 0; jo < wo; jo++) {
          let sum = 0;
          for (let d = 0, j = src + jo * s; d < s; d++, j++) sum += x[j];
          out[dst + jo] += k * sum;
        }
      }
    }
    return out;
  }

  adjoint(y: Float64Array): Float64Array {
    return this.spread(y, 1 / (this.scale * this.scale), 'box downsample adjoint');
  }

  pinv(y: Float64Array): Float64Array {
    return this.spread(y, 1, 'box downsample pinv');
  }

  estimate(y: Float64Array): StartEstimate {
    return { x: backProjectedBicubic(this, y, this.scale), noise: 0 };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    checkNormalSolveWeights(alpha, beta);
    const s2 = this.scale * this.scale;
    // P r is the block mean spread back over its block.
    const projected = this.spread(this.forward(r), 1, 'box downsample normalSolve');
    const gain = 1 / (beta + alpha / s2) - 1 / beta;
    const out = new Float64Array(r.length);
    for (let i = 0; i < r.length; i++) out[i] = r[i] / beta + gain * projected[i];
    return out;
  }

  /** Replicates each output pixel over its block, times k (k = 1/s^2 gives A^T). */
  private spread(y: Float64Array, k: number, what: string): Float64Array {
    checkLength(y, size(this.outShape), what);
    const s = this.scale;
    const { c, h, w } = this.inShape;
    const wo = w / s;
    const out = new Float64Array(size(this.inShape));
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        const src = (ch * (h / s) + Math.floor(i / s)) * wo;
        const dst = (ch * h + i) * w;
        for (let j = 0; j < w; j++) out[dst + j] = k * y[src + Math.floor(j / s)];
      }
    }
    return out;
  }
}

export const boxDownsample = (shape: Shape, scale: number): BoxDownsample => new BoxDownsample(shape, scale);
