/**
 * Inpainting: a pixel mask shared by every channel. The output keeps the input's shape with zeros at
 * missing pixels (rather than listing only observed values), so measurements stay images that can
 * be saved, previewed and fed to any other code as they are; the zeros carry no information.
 *
 * The mask is a diagonal: 1 = observed, 0 = missing. Values in between are accepted and act as
 * per-pixel weights, with every formula below still exact.
 */
import { UserError, size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import { isMissing } from '../photo/user-mask.js';
import { harmonicFill } from './harmonic-fill.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

export class Mask implements LinearOperator {
  readonly name: string;
  readonly structure = 'diagonal';
  readonly outShape: Shape;
  /** The h*w weights, a private copy. */
  readonly weights: Float64Array;

  constructor(
    readonly inShape: Shape,
    mask: Float64Array,
  ) {
    const { h, w } = inShape;
    if (mask.length !== h * w) {
      throw new UserError(`the mask has ${mask.length} pixels but the image has ${w}x${h} = ${w * h}`);
    }
    // The share observed counts as the rest of the engine does (isMissing): a soft weight below one
    // half is a pixel to restore, so the name says what a tiled or region job says of the same mask.
    let observed = 0;
    for (const v of mask) {
      if (!Number.isFinite(v)) throw new UserError('the mask contains a value that is not a finite number');
      if (!isMissing(v)) observed++;
    }
    this.weights = Float64Array.from(mask);
    this.outShape = inShape;
    this.name = `mask (${((100 * observed) / (h * w)).toFixed(1)}% observed)`;
  }

  /** out[c, p] = f(x[c, p], weight[p]) for every channel. */
  private perPixel(x: Float64Array, what: string, f: (v: number, m: number) => number): Float64Array {
    checkLength(x, size(this.inShape), what);
    const hw = this.weights.length;
    const out = new Float64Array(x.length);
    for (let c = 0; c < this.inShape.c; c++) {
      const o = c * hw;
      for (let p = 0; p < hw; p++) out[o + p] = f(x[o + p], this.weights[p]);
    }
    return out;
  }

  forward(x: Float64Array): Float64Array {
    return this.perPixel(x, 'mask forward', (v, m) => v * m);
  }

  adjoint(y: Float64Array): Float64Array {
    return this.perPixel(y, 'mask adjoint', (v, m) => v * m);
  }

  pinv(y: Float64Array): Float64Array {
    return this.perPixel(y, 'mask pinv', (v, m) => (m === 0 ? 0 : v / m));
  }

  /** Observed pixels y / m (so A x = y exactly), missing ones filled harmonically from them. */
  estimate(y: Float64Array, sigmaY: number): StartEstimate {
    const known = Uint8Array.from(this.weights, (m) => (m !== 0 ? 1 : 0));
    const { c, h, w } = this.inShape;
    return { x: harmonicFill(this.pinv(y), known, c, h, w), noise: sigmaY };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    checkNormalSolveWeights(alpha, beta);
    return this.perPixel(r, 'mask normalSolve', (v, m) => v / (alpha * m * m + beta));
  }
}

/** mask: h*w values, 1 = observed, 0 = missing. */
export const mask = (shape: Shape, observed: Float64Array): Mask => new Mask(shape, observed);
