/**
 * A preconditioner P ~ M^-1 = (alpha A^T A + beta I)^-1 for the chains an old photo needs:
 * A = mask . [luma] . blur (blur first), where no closed form exists once a mask follows a blur.
 *
 * Let A0 be the chain without its mask and M0 = alpha A0^T A0 + beta I, which has a closed form
 * (the blur's DCT spectrum; with luma, that spectrum along the luma direction w and beta elsewhere).
 * With s the observedness of each pixel, s^2 = B^T m (the share of the blurred measurements around
 * the pixel that are observed; m the mask weights), take
 *
 *   P v = s . M0^-1 (s . v) + (1 - s^2) . v / beta.
 *
 * P is symmetric positive definite, exact without a mask (s = 1: M0^-1) and exact for a mask alone
 * (s^2 = m in {0, 1}: 1 / (alpha + beta) observed, 1 / beta missing), and in between it treats the
 * inside of a damaged area as the mask would and the rest as the blur would. Conjugate gradients
 * with it (engine/operators/compose.ts) then need a few iterations where plain CG needs hundreds
 * (docs/ALGORITHM.md, "Old photos: one operator").
 */
import type { LinearOperator } from '../types.js';
import { Blur } from './blur.js';
import { Luma, LUMA_WEIGHTS } from './luma.js';
import { Mask } from './mask.js';

type Apply = (v: Float64Array) => Float64Array;

const W2 = LUMA_WEIGHTS.reduce((s, v) => s + v * v, 0);

/** The parts of a chain the preconditioner understands, or null for any other chain. */
interface ChainParts {
  blur?: Blur;
  luma?: Luma;
  mask?: Mask;
}

/** Splits blur -> luma -> mask (each optional, in that order; closed-form blurs only). */
function parts(ops: readonly LinearOperator[]): ChainParts | null {
  const out: ChainParts = {};
  let i = 0;
  if (ops[i] instanceof Blur) {
    if (!(ops[i] as Blur).closedForm) return null;
    out.blur = ops[i++] as Blur;
  }
  if (ops[i] instanceof Luma) out.luma = ops[i++] as Luma;
  if (ops[i] instanceof Mask) out.mask = ops[i++] as Mask;
  return i === ops.length && i >= 2 ? out : null;
}

/** M0^-1 of the chain without its mask, in closed form. */
function maskFreeSolve(p: ChainParts, alpha: number, beta: number): Apply {
  const { blur, luma } = p;
  if (blur && !luma) return (v) => blur.normalSolve(v, alpha, beta);
  if (luma && !blur) return (v) => luma.normalSolve(v, alpha, beta);
  if (!blur || !luma) return (v) => v.map((x) => x / beta);
  // A0^T A0 = (w w^T) x (B^T B): along w the blur's spectrum times |w|^2, orthogonal to w zero.
  const { h, w } = blur.inShape;
  const plane = new Blur({ c: 1, h, w }, blur.kernel);
  const hw = h * w;
  return (v) => {
    const along = new Float64Array(hw);
    for (let c = 0; c < 3; c++) for (let q = 0; q < hw; q++) along[q] += (LUMA_WEIGHTS[c] * v[c * hw + q]) / W2;
    const solved = plane.normalSolve(along, alpha * W2, beta);
    const out = new Float64Array(v.length);
    for (let c = 0; c < 3; c++) {
      const wc = LUMA_WEIGHTS[c];
      for (let q = 0; q < hw; q++) out[c * hw + q] = (v[c * hw + q] - wc * along[q]) / beta + wc * solved[q];
    }
    return out;
  };
}

/** s^2 per pixel: the mask weights squared, spread by the blur's adjoint where there is a blur. */
function observedness(p: ChainParts): Float64Array | null {
  if (!p.mask) return null;
  const m2 = p.mask.weights.map((m) => Math.min(1, m * m));
  if (!p.blur) return m2;
  const { h, w } = p.blur.inShape;
  return new Blur({ c: 1, h, w }, p.blur.kernel).adjoint(m2).map((v) => Math.min(1, Math.max(0, v)));
}

export interface ChainPreconditioner {
  /** P for these weights of the normal equations. */
  at(alpha: number, beta: number): Apply;
}

/** The preconditioner of a chain of blur, luma and mask (identities removed), or null for others. */
export function chainPreconditioner(ops: readonly LinearOperator[]): ChainPreconditioner | null {
  const p = parts(ops);
  if (!p) return null;
  const s2 = observedness(p);
  const s = s2?.map(Math.sqrt);
  const channels = ops[0].inShape.c;
  return {
    at(alpha, beta) {
      const solve0 = maskFreeSolve(p, alpha, beta);
      if (!s || !s2) return solve0;
      const hw = s.length;
      return (v) => {
        const sv = new Float64Array(v.length);
        for (let c = 0; c < channels; c++) for (let q = 0; q < hw; q++) sv[c * hw + q] = s[q] * v[c * hw + q];
        const out = solve0(sv);
        for (let c = 0; c < channels; c++)
          for (let q = 0; q < hw; q++) {
            const i = c * hw + q;
            out[i] = s[q] * out[i] + ((1 - s2[q]) * v[i]) / beta;
          }
        return out;
      };
    },
  };
}
