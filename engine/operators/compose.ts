/**
 * A chain of operators, A = A_n ... A_2 A_1 (A_1 applies first), e.g. blur then mask. Forward and
 * adjoint run the chain; pinv and normalSolve use conjugate gradients, since a product of closed
 * forms has none in general. Identities in the chain change nothing and are dropped first, so a chain
 * with a single real operator keeps that operator's closed forms.
 */
import { size, type LinearOperator, type Shape, type StartEstimate } from '../types.js';
import type { CgOptions } from '../linalg/cg.js';
import { normalSolveByCg, pinvByCg } from '../linalg/cg-solves.js';
import { Identity } from './identity.js';
import { checkLength } from './validate.js';

const sameShape = (a: Shape, b: Shape): boolean => a.c === b.c && a.h === b.h && a.w === b.w;
const describe = (s: Shape): string => `${s.c}x${s.h}x${s.w}`;

export interface ComposeOptions {
  /** Tolerance and iteration cap of pinv and normalSolve. */
  cg?: CgOptions;
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
    const real = operators.filter((op) => !(op instanceof Identity));
    this.core = real.length === 0 ? new Identity(this.inShape) : real.length === 1 ? real[0] : this;
    this.structure = this.core === this ? 'general' : this.core.structure;
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
    return this.core === this ? normalSolveByCg(this, r, alpha, beta, this.cg) : this.core.normalSolve(r, alpha, beta);
  }
}

/** compose(A1, A2, ..., An) = An ... A2 A1: A1 applies first. */
export const compose = (...operators: LinearOperator[]): Composition => new Composition(operators);
