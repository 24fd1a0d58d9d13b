/**
 * A chain of operators, A = A_n ... A_2 A_1 (A_1 applies first), e.g. blur then mask. Forward and
 * adjoint run the chain; pinv and normalSolve use conjugate gradients, since a product of closed
 * forms has none in general. Identities in the chain change nothing and are dropped first, so a chain
 * with a single real operator keeps that operator's closed forms. An old photo's chain (blur, luma,
 * mask) has a preconditioner built from the closed forms of its parts (chain-preconditioner.ts).
 */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import type { CgOptions } from '../linalg/cg.js';
import { conjugateGradient } from '../linalg/cg.js';
import { normalSolveByCg, pinvByCg } from '../linalg/cg-solves.js';
import { chainPreconditioner, type ChainPreconditioner } from './chain-preconditioner.js';
import { Identity } from './identity.js';
import { gaussNewtonResidual } from './residual.js';
import { checkLength, checkNormalSolveWeights } from './validate.js';

const sameShape = (a: Shape, b: Shape): boolean => a.c === b.c && a.h === b.h && a.w === b.w;
const describe = (s: Shape): string => `${s.c}x${s.h}x${s.w}`;

/**
 * Preconditioned CG settings of the inexact Gauss-Newton step (VML-MAP's M^-1 r): CG from 0 gives a
 * descent direction at every iterate and a zero step where r = 0, so the fixed points stay those of
 * the exact step; the count is measured in docs/ALGORITHM.md ("Old photos: one operator").
 */
export const CHAIN_STEP_CG = { tol: 1e-2, maxIter: 1 } as const;

export interface ComposeOptions {
  /** Tolerance and iteration cap of pinv and normalSolve. */
  cg?: CgOptions;
  /** Those of the inexact Gauss-Newton step of a preconditioned chain; CHAIN_STEP_CG by default (for studies). */
  stepCg?: CgOptions;
}

export class Composition implements LinearOperator {
  readonly name: string;
  readonly structure: LinearOperator['structure'];
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly operators: readonly LinearOperator[];
  /** The chain without its identities: what pinv and normalSolve have to invert. */
  private readonly core: LinearOperator;
  private readonly cg: CgOptions;
  private readonly stepCg: CgOptions;
  private readonly preconditioner: ChainPreconditioner | null;

  constructor(operators: readonly LinearOperator[], options: ComposeOptions = {}) {
    if (operators.length === 0) throw new RangeError('compose needs at least one operator');
    for (let i = 1; i < operators.length; i++) {
      const [a, b] = [operators[i - 1], operators[i]];
      if (!sameShape(a.outShape, b.inShape)) {
        throw new RangeError(`compose: ${a.name} outputs ${describe(a.outShape)} but ${b.name} takes ${describe(b.inShape)}`);
      }
    }
    this.operators = [...operators];
    this.inShape = operators[0].inShape;
    this.outShape = operators[operators.length - 1].outShape;
    this.name = operators.map((op) => op.name).join(' then ');
    this.cg = options.cg ?? {};
    this.stepCg = { ...this.cg, ...CHAIN_STEP_CG, ...options.stepCg };
    const real = operators.filter((op) => !(op instanceof Identity));
    this.core = real.length === 0 ? new Identity(this.inShape) : real.length === 1 ? real[0] : this;
    this.structure = this.core === this ? 'general' : this.core.structure;
    this.preconditioner = this.core === this ? chainPreconditioner(real) : null;
  }

  forward(x: Float64Array): Float64Array {
    checkLength(x, size(this.inShape), 'compose forward');
    return this.operators.reduce((v, op) => op.forward(v), x);
  }

  adjoint(y: Float64Array): Float64Array {
    checkLength(y, size(this.outShape), 'compose adjoint');
    return this.operators.reduceRight((v, op) => op.adjoint(v), y);
  }

  pinv(y: Float64Array): Float64Array {
    return this.core === this ? pinvByCg(this, y, this.cg) : this.core.pinv(y);
  }

  /** Each operator's estimate of its input from the next one's, last operator first. */
  estimate(y: Float64Array, sigmaY: number): StartEstimate {
    if (this.core !== this) return this.core.estimate(y, sigmaY);
    let x = y;
    for (let i = this.operators.length - 1; i >= 0; i--) x = this.operators[i].estimate(x, sigmaY).x;
    return { x, noise: 0 };
  }

  normalSolve(r: Float64Array, alpha: number, beta: number): Float64Array {
    if (this.core !== this) return this.core.normalSolve(r, alpha, beta);
    return normalSolveByCg(this, r, alpha, beta, this.cg, this.preconditioner?.at(alpha, beta));
  }

  /** M^-1 r by a few preconditioned CG iterations where the chain has a preconditioner. */
  gaussNewtonStep(d: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array {
    if (this.core !== this && this.core.gaussNewtonStep) return this.core.gaussNewtonStep(d, z, y, alpha, beta);
    const r = gaussNewtonResidual(this, d, z, y, alpha, beta);
    if (this.core !== this) return this.core.normalSolve(r, alpha, beta);
    if (!this.preconditioner) return normalSolveByCg(this, r, alpha, beta, this.cg);
    checkNormalSolveWeights(alpha, beta);
    const apply = (v: Float64Array): Float64Array => {
      const out = this.adjoint(this.forward(v));
      for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + beta * v[i];
      return out;
    };
    return conjugateGradient(apply, r, this.stepCg, this.preconditioner.at(alpha, beta));
  }
}

/** compose(A1, A2, ..., An) = An ... A2 A1: A1 applies first. */
export const compose = (...operators: LinearOperator[]): Composition => new Composition(operators);
