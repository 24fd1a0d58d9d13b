/**
 * Super-resolution with the antialiased bicubic downsampler of MATLAB's imresize(x, 1/s) (and, up to
 * the boundary, PIL's BICUBIC reduce): the Keys cubic with a = -0.5 stretched by s, so that it
 * low-passes before decimating. Output pixel i is centred on input coordinate (i + 0.5) s - 0.5; its
 * 4s taps are normalised to sum 1. Taps past the edge use the half-sample symmetric extension
 * (boundary.ts), as imresize does (PIL instead drops them and renormalises); the adjoint is exact for
 * it because it is the transpose of the very matrix the forward pass applies.
 *
 * A A^T is well conditioned, and A^T A is that spectrum plus an eigenvalue 0 on the null space, which
 * conjugate gradients clears in one step; so CG serves pinv and normalSolve in few iterations.
 */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import { backProjectedBicubic } from './back-projection.js';
import { symmetricIndex } from './boundary.js';
import type { CgOptions } from '../linalg/cg.js';
import { normalSolveByCg, pinvByCg } from '../linalg/cg-solves.js';
import { downsampledShape } from './downsample-shape.js';
import { alongHeight, alongHeightTransposed, alongWidth, alongWidthTransposed, sparseRows, type SparseRows } from '../linalg/sparse-rows.js';
import { checkLength } from './validate.js';

/** Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), support [-2, 2]. */
export function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/** The 1-D antialiased bicubic matrix from n samples to n / s. */
export function bicubicDownsampleMatrix(n: number, s: number): SparseRows {
  const rows: Map<number, number>[] = [];
  for (let i = 0; i < n / s; i++) {
    const centre = (i + 0.5) * s - 0.5;
    const entries = new Map<number, number>();
    let sum = 0;
    for (let j = Math.floor(centre - 2 * s); j <= Math.ceil(centre + 2 * s); j++) {
      const v = cubic((j - centre) / s);
      if (v === 0) continue;
      const jj = symmetricIndex(j, n);
      entries.set(jj, (entries.get(jj) ?? 0) + v);
      sum += v;
    }
    for (const [j, v] of entries) entries.set(j, v / sum);
    rows.push(entries);
  }
  return sparseRows(n, rows);
}

export interface BicubicOptions {
  /** Tolerance and iteration cap of pinv and normalSolve. */
  cg?: CgOptions;
}

export class BicubicDownsample implements LinearOperator {
  readonly name: string;
  readonly structure = 'general';
  readonly outShape: Shape;
  private readonly rows: SparseRows;
  private readonly cols: SparseRows;
  private readonly cg: CgOptions;

  constructor(
    readonly inShape: Shape,
    readonly scale: number,
    options: BicubicOptions = {},
  ) {
    this.outShape = downsampledShape(inShape, scale, 'bicubic downsampling');
    this.rows = bicubicDownsampleMatrix(inShape.h, scale);
    this.cols = bicubicDownsampleMatrix(inShape.w, scale);
    this.cg = options.cg ?? {};
    this.name = `bicubic downsample x${scale}`;
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'bicubic forward');
    const { c, h } = this.inShape;
    return alongHeight(alongWidth(x, c * h, this.cols), c, this.outShape.w, this.rows);
  }

  adjoint(y: Float64Array): Float64Array {
    checkLength(y, size(this.outShape), 'bicubic adjoint');
    const { c, h } = this.inShape;
    return alongWidthTransposed(alongHeightTransposed(y, c, this.outShape.w, this.rows), c * h, this.cols);
  }

  pinv(y: Float64Array): Float64Array {
    return pinvByCg(this, y, this.cg);
  }

  estimate(y: Float64Array): StartEstimate {
    return { x: backProjectedBicubic(this, y, this.scale), noise: 0 };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    return normalSolveByCg(this, r, alpha, beta, this.cg);
  }
}

export const bicubicDownsample = (shape: Shape, scale: number, options?: BicubicOptions): BicubicDownsample => new BicubicDownsample(shape, scale, options);
