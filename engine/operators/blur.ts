/**
 * Deblurring: y = k * x, 'same' size, half-sample symmetric boundary (boundary.ts, convolve.ts), with
 * the exact adjoint for that boundary.
 *
 * pinv and normalSolve are closed forms in the DCT domain when the kernel is mirror symmetric along
 * both axes (dct-spectrum.ts: every Gaussian, axis-aligned motion), and conjugate gradients otherwise.
 * The reflective boundary has no fast exact inverse for other kernels and no Fourier preconditioner we
 * tried helped (see dct-spectrum.ts), so there CG needs hundreds of iterations at alpha/beta = 1e3 and
 * does not converge at 1e6: callers should cap the iterations (every CG iterate from 0 is still a
 * descent direction) or prefer symmetric kernels.
 *
 * A^+ drops the frequencies whose gain |K| is below rcond (default 1e-8) times the largest one, as
 * numpy's pinv drops small singular values: a Gaussian's gains fall to 1e-9 and below, and inverting
 * them would amplify rounding errors by as much. The CG path regularises by stopping early instead
 * (by default at a 1e-6 relative residual). Either way A^+ y amplifies noise in y enormously: it is an
 * exact-data tool, not a deblurring method.
 */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import type { CgOptions } from '../linalg/cg.js';
import { conjugateGradient } from '../linalg/cg.js';
import { normalSolveByCg, pinvByCg } from '../linalg/cg-solves.js';
import { laplacian } from '../linalg/laplacian.js';
import { convolveSymmetric, convolveSymmetricAdjoint } from './convolve.js';
import type { Kernel } from './kernels.js';
import { DctSpectrum, axisSymmetric } from './dct-spectrum.js';
import { rankOneFactors, type KernelFactors } from './separable.js';
import { gaussNewtonResidual } from './residual.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

export interface BlurOptions {
  /** Tolerance and iteration cap of pinv and normalSolve where they use conjugate gradients. */
  cg?: CgOptions;
  /** Relative gain below which A^+ treats a frequency as unobserved (closed form only); default 1e-8. */
  rcond?: number;
}

/** CG settings of the inexact Gauss-Newton step for kernels without a closed form. */
export const STEP_CG = { tol: 1e-3, maxIter: 30 } as const;

/** mu / sigma_y^2 of the starting estimate's gradient-regularised inverse (docs/ALGORITHM.md). */
export const ESTIMATE_MU = 50;

export class Blur implements LinearOperator {
  readonly name: string;
  readonly structure = 'general';
  readonly outShape: Shape;
  readonly kernel: Kernel;
  private readonly factors: KernelFactors | null;
  private readonly cg: CgOptions;
  private readonly rcond: number;
  private readonly symmetric: boolean;
  private spectrumCache?: DctSpectrum;
  /** The transform of A^T y for the measurement gaussNewtonStep saw last (compared by identity). */
  private atyFor?: Float64Array;
  private atyHat?: Float64Array;

  constructor(
    readonly inShape: Shape,
    kernel: Kernel,
    options: BlurOptions = {},
  ) {
    if (kernel.data.length !== kernel.h * kernel.w || kernel.h < 1 || kernel.w < 1) {
      throw new RangeError(`blur: a ${kernel.h}x${kernel.w} kernel needs ${kernel.h * kernel.w} values, got ${kernel.data.length}`);
    }
    this.kernel = { ...kernel, data: Float64Array.from(kernel.data) };
    this.factors = rankOneFactors(this.kernel);
    this.outShape = inShape;
    this.cg = options.cg ?? {};
    this.rcond = options.rcond ?? 1e-8;
    this.symmetric = axisSymmetric(this.kernel);
    this.name = `blur(${kernel.label ?? 'kernel'}, ${kernel.h}x${kernel.w})`;
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'blur forward');
    const { c, h, w } = this.inShape;
    if (this.factors) {
      return convolveSymmetric(convolveSymmetric(x, c, h, w, this.factors.column), c, h, w, this.factors.row);
    }
    return convolveSymmetric(x, c, h, w, this.kernel);
  }

  adjoint(y: Float64Array): Float64Array {
    checkLength(y, size(this.outShape), 'blur adjoint');
    const { c, h, w } = this.inShape;
    if (this.factors) {
      const t = convolveSymmetricAdjoint(y, c, h, w, this.factors.row);
      return convolveSymmetricAdjoint(t, c, h, w, this.factors.column);
    }
    return convolveSymmetricAdjoint(y, c, h, w, this.kernel);
  }

  pinv(y: Float64Array): Float64Array {
    if (!this.symmetric) return pinvByCg(this, y, this.cg);
    const spectrum = this.spectrum();
    const cut = this.rcond * this.rcond * spectrum.maxPower;
    return spectrum.filter(this.adjoint(y), (p) => (p > cut ? 1 / p : 0));
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    if (!this.symmetric) return normalSolveByCg(this, r, alpha, beta, this.cg);
    checkLength(r, size(this.inShape), 'blur normalSolve');
    checkNormalSolveWeights(alpha, beta);
    return this.spectrum().filter(r, (p) => 1 / (alpha * p + beta));
  }

  /**
   * A regularised inverse that penalises gradients, argmin |A x - y|^2 + mu |G x|^2 with G the
   * image differences (the Wiener filter of a signal whose power falls as 1/f^2, as photos' does),
   * mu = ESTIMATE_MU * max(sigma_y, 1e-3)^2, by conjugate gradients from y. A white-signal Tikhonov
   * filter amplified the noise where the kernel's gain is small and was worse than y itself.
   */
  estimate(y: Float64Array, sigmaY: number): StartEstimate {
    const mu = ESTIMATE_MU * Math.max(sigmaY, 1e-3) ** 2;
    const { c, h, w } = this.inShape;
    const apply = (v: Float64Array): Float64Array => {
      const out = this.adjoint(this.forward(v));
      const lv = laplacian(v, c, h, w);
      for (let i = 0; i < out.length; i++) out[i] += mu * lv[i];
      return out;
    };
    // Solve for the correction to y: (A^T A + mu L) d = A^T y - (A^T A + mu L) y.
    const ay = apply(y);
    const b = this.adjoint(y);
    for (let i = 0; i < b.length; i++) b[i] -= ay[i];
    const d = conjugateGradient(apply, b, { tol: 1e-4, maxIter: 200 });
    return { x: Float64Array.from(y, (v, i) => v + d[i]), noise: 0 };
  }

  /**
   * For symmetric kernels, in the DCT domain where A is the gain K. Since M^-1 beta = I - M^-1 alpha
   * A^T A, the step M^-1 r equals d - z + M^-1 alpha A^T (y - A (2d - z)): with U and B the transforms
   * of 2d - z and A^T y (B kept for the last y seen), d - z + inverse(alpha (B - K^2 U) / (alpha K^2 +
   * beta)). Two transforms instead of four convolutions and two transforms.
   */
  gaussNewtonStep(d: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array {
    if (!this.symmetric) {
      // No closed form: an inexact solve. CG from 0 gives a descent direction at every iterate and
      // a zero step where r = 0, so the fixed points stay those of the exact step (iteration count
      // measured in docs/ALGORITHM.md).
      return normalSolveByCg(this, gaussNewtonResidual(this, d, z, y, alpha, beta), alpha, beta, {
        ...this.cg,
        tol: Math.max(this.cg.tol ?? 0, STEP_CG.tol),
        maxIter: Math.min(this.cg.maxIter ?? Infinity, STEP_CG.maxIter),
      });
    }
    const n = size(this.inShape);
    checkLength(d, n, 'blur gaussNewtonStep');
    checkLength(z, n, 'blur gaussNewtonStep');
    checkNormalSolveWeights(alpha, beta);
    const spectrum = this.spectrum();
    if (this.atyFor !== y) {
      const b = this.adjoint(y);
      spectrum.transform(b, false);
      this.atyHat = b;
      this.atyFor = y;
    }
    const B = this.atyHat!;
    const U = new Float64Array(n);
    for (let k = 0; k < n; k++) U[k] = 2 * d[k] - z[k];
    spectrum.transform(U, false);
    const { power } = spectrum;
    const hw = power.length;
    for (let base = 0; base < n; base += hw) {
      for (let k = 0; k < hw; k++) {
        const p = power[k];
        U[base + k] = (alpha * (B[base + k] - p * U[base + k])) / (alpha * p + beta);
      }
    }
    spectrum.transform(U, true);
    for (let k = 0; k < n; k++) U[k] += d[k] - z[k];
    return U;
  }

  /** True when pinv and normalSolve are closed forms rather than conjugate gradients. */
  get closedForm(): boolean {
    return this.symmetric;
  }

  /** Built on first use. */
  private spectrum(): DctSpectrum {
    this.spectrumCache ??= new DctSpectrum(this.inShape.h, this.inShape.w, this.kernel);
    return this.spectrumCache;
  }
}

export const blur = (shape: Shape, kernel: Kernel, options?: BlurOptions): Blur => new Blur(shape, kernel, options);
