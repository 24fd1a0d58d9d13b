/** Fused Gauss-Newton steps against their unfused definitions, and the conjugate-gradient solvers. */
import { afterAll, describe, expect, it } from 'vitest';
import {
  bicubicDownsample,
  blur,
  boxDownsample,
  conjugateGradient,
  gaussianKernel,
  mask,
  motionKernel,
  normalSolveByCg,
  Composition,
  type CgOptions,
  type CgStats,
} from '../../engine/operators/index.js';
import { type LinearOperator, type Shape } from '../../engine/types.js';
import { dctPlan } from '../../engine/linalg/dct.js';
import { randn, randomMask, relErr, sizeOf } from './helpers.js';

const odd: Shape = { c: 3, h: 37, w: 31 };

/** Worst errors seen, printed with OPS_REPORT=1. */
const worst = new Map<string, number>();

const note = (key: string, v: number): void => void worst.set(key, Math.max(worst.get(key) ?? 0, v));

afterAll(() => {
  if (process.env.OPS_REPORT) console.log([...worst].map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

/** r = beta (d - z) + alpha A^T (y - A d), written out independently of the engine's. */
function residualOf(op: LinearOperator, d: Float64Array, z: Float64Array, y: Float64Array, alpha: number, beta: number): Float64Array {
  const res = op.forward(d).map((v, i) => y[i] - v);
  const data = op.adjoint(res);
  return d.map((v, i) => (v - z[i]) * beta + data[i] * alpha);
}

describe('fused steps', () => {
  it('DCT pairs equal two single transforms, forward and inverse', () => {
    for (const len of [1, 2, 5, 31, 128]) {
      const a = randn(len, 3 * len);
      const b = randn(len, 3 * len + 1);
      const [a1, b1] = [Float64Array.from(a), Float64Array.from(b)];
      dctPlan(len).forward(a1);
      dctPlan(len).forward(b1);
      const [a2, b2] = [Float64Array.from(a), Float64Array.from(b)];
      dctPlan(len).forwardPair(a2, b2);
      expect(relErr(a2, a1)).toBeLessThan(1e-13);
      expect(relErr(b2, b1)).toBeLessThan(1e-13);
      dctPlan(len).inversePair(a2, b2);
      expect(relErr(a2, a)).toBeLessThan(1e-13);
      expect(relErr(b2, b)).toBeLessThan(1e-13);
    }
  });

  it("a symmetric blur's gaussNewtonStep equals normalSolve of the residual; other kernels take an inexact one", () => {
    const residual = residualOf;
    const shapes: Shape[] = [odd, { c: 3, h: 32, w: 33 }, { c: 1, h: 1, w: 7 }];
    for (const shape of shapes) {
      for (const kernel of [gaussianKernel(2), motionKernel(5, 0), motionKernel(4, 90)]) {
        const op = blur(shape, kernel);
        expect(op.gaussNewtonStep).toBeTypeOf('function');
        const [d, z, y] = [randn(sizeOf(shape), 1), randn(sizeOf(shape), 2), randn(sizeOf(shape), 3)];
        for (const [alpha, beta] of [
          [1e4, 4],
          [0, 1],
          [1, 1e6],
        ]) {
          const want = op.normalSolve(residual(op, d, z, y, alpha, beta), alpha, beta);
          // Twice with the same y: the second call reuses the cached transform of A^T y.
          for (let k = 0; k < 2; k++) expect(relErr(op.gaussNewtonStep!(d, z, y, alpha, beta), want)).toBeLessThan(1e-10);
        }
        const y2 = randn(sizeOf(shape), 4);
        const want2 = op.normalSolve(residual(op, d, z, y2, 3, 2), 3, 2);
        expect(relErr(op.gaussNewtonStep!(d, z, y2, 3, 2), want2)).toBeLessThan(1e-10);
      }
    }
    // Without a closed form: an inexact CG step, zero where the residual is zero.
    const skew = blur(odd, motionKernel(9, 45));
    const d = randn(sizeOf(odd), 5);
    expect(skew.gaussNewtonStep!(d, d, skew.forward(d), 1e4, 4).every((v) => v === 0)).toBe(true);
    const z = randn(sizeOf(odd), 6);
    const y = randn(sizeOf(odd), 7);
    const exact = skew.normalSolve(residualOf(skew, d, z, y, 1e2, 4), 1e2, 4);
    expect(relErr(skew.gaussNewtonStep!(d, z, y, 1e2, 4), exact)).toBeLessThan(1e-2);
  });
});

describe('conjugate gradients', () => {
  it('solves a small SPD system and reports its iterations', () => {
    const diag = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const b = randn(6, 2);
    let stats: CgStats | undefined;
    const x = conjugateGradient((v) => v.map((vi, i) => diag[i] * vi), b, { tol: 1e-14, onSolve: (s) => (stats = s) });
    expect(
      relErr(
        x,
        b.map((bi, i) => bi / diag[i]),
      ),
    ).toBeLessThan(1e-12);
    expect(stats?.converged).toBe(true);
    expect(stats?.iterations).toBeLessThanOrEqual(6);
  });

  it('symmetric blur kernels solve in closed form, agreeing with CG', () => {
    const r = randn(sizeOf(odd), 9);
    for (const k of [gaussianKernel(2), motionKernel(8, 0)]) {
      const op = blur(odd, k);
      expect(op.closedForm).toBe(true);
      const cg = normalSolveByCg(op, r, 1e3, 1, { tol: 1e-11, maxIter: 5000 });
      expect(relErr(op.normalSolve(r, 1e3, 1), cg)).toBeLessThan(1e-7);
    }
    expect(blur(odd, motionKernel(8, 30)).closedForm).toBe(false);
  });

  it.each([1, 1e3, 1e6])('bicubic and composed normalSolves converge at alpha/beta = %d', (ratio) => {
    const ops: [string, (cg: CgOptions) => LinearOperator][] = [
      ['bicubic x2', (cg) => bicubicDownsample({ c: 3, h: 36, w: 30 }, 2, { cg })],
      ['bicubic x4', (cg) => bicubicDownsample({ c: 3, h: 36, w: 32 }, 4, { cg })],
      ['gaussian blur then box x3', (cg) => new Composition([blur({ c: 3, h: 36, w: 33 }, gaussianKernel(1.6)), boxDownsample({ c: 3, h: 36, w: 33 }, 3)], { cg })],
      ['bicubic x2 then mask', (cg) => new Composition([bicubicDownsample({ c: 3, h: 36, w: 30 }, 2), mask({ c: 3, h: 18, w: 15 }, randomMask(18, 15, 2))], { cg })],
    ];
    for (const [label, make] of ops) {
      const runs: CgStats[] = [];
      const op = make({ onSolve: (s) => runs.push(s) });
      op.normalSolve(randn(sizeOf(op.inShape), 8), ratio, 1);
      note(`${label} normalSolve iterations at ${ratio}`, runs[0].iterations);
      expect(runs[0].converged).toBe(true);
    }
  });

  it.each([1, 1e3, 1e6])('blur normalSolve by CG (motion 30 deg) at alpha/beta = %d', (ratio) => {
    const runs: CgStats[] = [];
    const op = blur(odd, motionKernel(9, 30), { cg: { onSolve: (s) => runs.push(s) } });
    op.normalSolve(randn(sizeOf(odd), 9), ratio, 1);
    note(`blur motion30 normalSolve iterations at ${ratio}`, runs[0].iterations);
    note(`blur motion30 normalSolve residual at ${ratio}`, runs[0].relResidual);
    // The reflective boundary leaves CG unpreconditioned: at 1e6 it runs into the cap (see blur.ts).
    if (ratio <= 1e3) expect(runs[0].converged).toBe(true);
  });
});
