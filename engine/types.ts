/**
 * Shared types of the engine. Images are planar (CHW) Float64Array in [0, 1] image units; the
 * model's own value range appears only inside engine/model/.
 */

export interface Shape {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

export interface Img extends Shape {
  readonly data: Float64Array;
}

export const size = (s: Shape): number => s.c * s.h * s.w;

/**
 * A linear measurement operator A: R^in -> R^out, in the style of deepinv's physics operators.
 * Every method allocates its result; inputs are never modified.
 */
export interface LinearOperator {
  /** Short human-readable description, e.g. "blur(gaussian 2.0, 13x13) then mask". */
  readonly name: string;
  readonly inShape: Shape;
  readonly outShape: Shape;
  /** y = A x */
  forward(x: Float64Array): Float64Array;
  /** x = A^T y (exact adjoint under the operator's documented boundary convention) */
  adjoint(y: Float64Array): Float64Array;
  /** x = A^+ y, the minimum-norm least-squares solution (closed form or conjugate gradients) */
  pinv(y: Float64Array): Float64Array;
  /**
   * u = (alpha A^T A + beta I)^-1 r, with alpha >= 0 and beta > 0. This is the preconditioner
   * M^-1 of docs/ALGORITHM.md (alpha = 1/sigma_y^2, beta = 1/sigma^2) and DiffPIR's proximal step.
   */
  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array;
  /**
   * Optional: M^-1 r with r = beta (d - z) + alpha A^T (y - A d), VML-MAP's preconditioned step,
   * where the operator has a faster route than forward, adjoint and normalSolve in turn (a
   * symmetric blur does it all in the DCT domain), or where an inexact solve is the better
   * trade (a blur without a closed form: a few CG iterations). Either way it must vanish exactly
   * where r = 0, so that VML-MAP's fixed points do not change.
   */
  gaussNewtonStep?(d: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array;
  /**
   * The cheap classical estimate of x from y that a solve starts from (docs/ALGORITHM.md, "Starting
   * estimates"): masks a harmonic fill, downsampling back-projected bicubic interpolation, blurs a
   * regularised inverse, luma the grey image, the identity y itself, chains in turn. Consistent
   * with y (A x = y) where the operator allows it exactly (masks, downsampling, luma).
   */
  estimate(y: Float64Array, sigmaY: number): StartEstimate;
  /** Which closed forms exist; informative (benchmarks, docs), solvers never depend on it. */
  readonly structure: 'identity' | 'diagonal' | 'row-orthogonal' | 'general';
}

export interface StartEstimate {
  x: Float64Array;
  /** Std of the white noise the estimate still carries (denoising: sigma_y; smoothing estimates: 0). */
  noise: number;
}

export interface Progress {
  step: number;
  total: number;
  elapsedMs: number;
  etaMs: number;
  /** Current denoised estimate, in [0, 1], when a preview was asked for at this step. */
  preview?: Img;
}

export interface SolveStats {
  /** Network forward evaluations. */
  nfe: number;
  /** VJP graph evaluations (exact) or finite-difference pairs (approximate). */
  vjps: number;
  wallMs: number;
  /** Time spent inside onnxruntime session.run. */
  onnxMs: number;
  /** True when J^T v came from the forward-only finite-difference approximation. */
  approximateVjp: boolean;
  /**
   * VML-MAP: |M^-1 r| / |z| at the last noise level, the fixed-point step left to take relative to z
   * (0 at a stationary point of the loss).
   */
  stationarity?: number;
  /** VML-MAP's gradient rule: trial steps its safeguard rejected (each cost one forward). */
  shortenedSteps?: number;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** A one-line, user-facing error (bad input, bad model); the CLI prints its message and exits 1. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
