/**
 * Colourisation: the grey image is the Rec. 601 luma of the colour one, y = w . x per pixel with
 * w = (0.299, 0.587, 0.114). One row per pixel, mutually orthogonal, so A A^T = |w|^2 I:
 *   A^+ = A^T / |w|^2,
 *   (alpha A^T A + beta I)^-1 r = r / beta - alpha (w . r) w / (beta (beta + alpha |w|^2))   (Sherman-Morrison, per pixel).
 */
import { UserError, size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

export const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;
const W2 = LUMA_WEIGHTS.reduce((s, v) => s + v * v, 0);

export class Luma implements LinearOperator {
  readonly name = 'luma';
  readonly structure = 'row-orthogonal';
  readonly outShape: Shape;

  constructor(readonly inShape: Shape) {
    if (inShape.c !== 3) {
      throw new UserError(`colourisation needs a 3-channel (RGB) image, got ${inShape.c} channel(s)`);
    }
    this.outShape = { c: 1, h: inShape.h, w: inShape.w };
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'luma forward');
    const hw = this.outShape.h * this.outShape.w;
    const [wr, wg, wb] = LUMA_WEIGHTS;
    const out = new Float64Array(hw);
    for (let p = 0; p < hw; p++) out[p] = wr * x[p] + wg * x[hw + p] + wb * x[2 * hw + p];
    return out;
  }

  adjoint(y: Float64Array): Float64Array {
    return this.broadcast(y, 1, 'luma adjoint');
  }

  pinv(y: Float64Array): Float64Array {
    return this.broadcast(y, 1 / W2, 'luma pinv');
  }

  /**
   * The grey image: y on all three channels, consistent since the weights sum to 1, and colourless.
   * Not A^+ y, whose minimum-norm answer is tinted green; noise around mid-grey gave the prior random
   * hues to sharpen into saturated blobs (docs/ALGORITHM.md).
   */
  estimate(y: Float64Array): StartEstimate {
    checkLength(y, size(this.outShape), 'luma estimate');
    const x = new Float64Array(3 * y.length);
    for (let c = 0; c < 3; c++) x.set(y, c * y.length);
    return { x, noise: 0 };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    checkNormalSolveWeights(alpha, beta);
    const correction = this.broadcast(this.forward(r), alpha / (beta * (beta + alpha * W2)), 'luma normalSolve');
    const out = new Float64Array(r.length);
    for (let i = 0; i < r.length; i++) out[i] = r[i] / beta - correction[i];
    return out;
  }

  /** out[c, p] = k w_c y[p]. */
  private broadcast(y: Float64Array, k: number, what: string): Float64Array {
    checkLength(y, size(this.outShape), what);
    const hw = y.length;
    const out = new Float64Array(3 * hw);
    for (let c = 0; c < 3; c++) {
      const kc = k * LUMA_WEIGHTS[c];
      for (let p = 0; p < hw; p++) out[c * hw + p] = kc * y[p];
    }
    return out;
  }
}

export const luma = (shape: Shape): Luma => new Luma(shape);
