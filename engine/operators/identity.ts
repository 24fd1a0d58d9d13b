/** The identity: denoising measures the image itself. */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

export class Identity implements LinearOperator {
  readonly name = 'identity';
  readonly structure = 'identity';
  readonly outShape: Shape;

  constructor(readonly inShape: Shape) {
    this.outShape = inShape;
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'identity forward');
    return Float64Array.from(x);
  }

  adjoint(y: Float64Array): Float64Array {
    return this.forward(y);
  }

  pinv(y: Float64Array): Float64Array {
    return this.forward(y);
  }

  estimate(y: Float64Array, sigmaY: number): StartEstimate {
    return { x: this.forward(y), noise: sigmaY };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    checkLength(r, size(this.inShape), 'identity normalSolve');
    checkNormalSolveWeights(alpha, beta);
    const d = 1 / (alpha + beta);
    return r.map((v) => v * d);
  }
}

export const identity = (shape: Shape): Identity => new Identity(shape);
