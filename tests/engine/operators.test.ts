/**
 * Every operator (and composition) on odd shapes: exact adjoint, A A^+ A = A with a minimum-norm
 * pseudo-inverse, normal solves against dense Cholesky, inputs left alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bicubicDownsample, blur, boxDownsample, compose, gaussianKernel, identity, luma, mask, motionKernel, Composition, type CgOptions, type Kernel } from '../../engine/operators/index.js';
import { type LinearOperator, type Shape } from '../../engine/types.js';
import { choleskySolve, denseOf, dot, normalMatrix, randn, randomMask, relErr, sizeOf } from './helpers.js';

/** A non-separable even-sized kernel, to exercise the origin convention and the general path. */
const unevenKernel: Kernel = { h: 4, w: 2, data: Float64Array.from([0.3, 0.1, 0.05, 0.2, 0.1, 0.1, 0.02, 0.13]), label: 'uneven' };

interface Case {
  name: string;
  /** Builds the operator for a shape; cg options only matter to the CG-based ones. */
  make: (shape: Shape, cg?: CgOptions) => LinearOperator;
  shape: Shape;
  /** Small enough for a dense matrix. */
  small: Shape;
  closedForm: boolean;
}

const odd: Shape = { c: 3, h: 37, w: 31 };

const tiny: Shape = { c: 3, h: 6, w: 5 };

const cases: Case[] = [
  { name: 'identity', make: (s) => identity(s), shape: odd, small: tiny, closedForm: true },
  { name: 'mask', make: (s) => mask(s, randomMask(s.h, s.w, 7)), shape: odd, small: tiny, closedForm: true },
  { name: 'luma', make: (s) => luma(s), shape: odd, small: tiny, closedForm: true },
  { name: 'box x2', make: (s) => boxDownsample(s, 2), shape: { c: 3, h: 36, w: 30 }, small: { c: 3, h: 6, w: 4 }, closedForm: true },
  { name: 'box x3', make: (s) => boxDownsample(s, 3), shape: { c: 3, h: 36, w: 33 }, small: { c: 3, h: 6, w: 6 }, closedForm: true },
  { name: 'box x4', make: (s) => boxDownsample(s, 4), shape: { c: 3, h: 36, w: 32 }, small: { c: 2, h: 8, w: 8 }, closedForm: true },
  { name: 'bicubic x2', make: (s, cg) => bicubicDownsample(s, 2, { cg }), shape: { c: 3, h: 36, w: 30 }, small: { c: 3, h: 6, w: 4 }, closedForm: false },
  { name: 'bicubic x3', make: (s, cg) => bicubicDownsample(s, 3, { cg }), shape: { c: 3, h: 36, w: 33 }, small: { c: 3, h: 6, w: 6 }, closedForm: false },
  { name: 'bicubic x4', make: (s, cg) => bicubicDownsample(s, 4, { cg }), shape: { c: 3, h: 36, w: 32 }, small: { c: 2, h: 8, w: 8 }, closedForm: false },
  { name: 'blur gaussian', make: (s, cg) => blur(s, gaussianKernel(1.5), { cg }), shape: odd, small: tiny, closedForm: true },
  { name: 'blur motion 90deg', make: (s, cg) => blur(s, motionKernel(7, 90), { cg }), shape: odd, small: tiny, closedForm: true },
  { name: 'blur motion 30deg', make: (s, cg) => blur(s, motionKernel(9, 30), { cg }), shape: odd, small: tiny, closedForm: false },
  { name: 'blur uneven 4x2', make: (s, cg) => blur(s, unevenKernel, { cg }), shape: odd, small: tiny, closedForm: false },
  {
    name: 'blur then mask',
    make: (s, cg) => new Composition([blur(s, gaussianKernel(1)), mask(s, randomMask(s.h, s.w, 3))], { cg }),
    shape: odd,
    small: tiny,
    closedForm: false,
  },
  {
    name: 'blur then box x3',
    make: (s, cg) => new Composition([blur(s, motionKernel(5, 60)), boxDownsample(s, 3)], { cg }),
    shape: { c: 3, h: 36, w: 33 },
    small: { c: 3, h: 6, w: 6 },
    closedForm: false,
  },
  {
    name: 'bicubic x2 then mask',
    make: (s, cg) => {
      const down = bicubicDownsample(s, 2);
      return new Composition([down, mask(down.outShape, randomMask(down.outShape.h, down.outShape.w, 5))], { cg });
    },
    shape: { c: 3, h: 36, w: 30 },
    small: { c: 3, h: 6, w: 4 },
    closedForm: false,
  },
  {
    name: 'luma then mask',
    make: (s, cg) => new Composition([luma(s), mask({ ...s, c: 1 }, randomMask(s.h, s.w, 11))], { cg }),
    shape: odd,
    small: tiny,
    closedForm: false,
  },
  {
    name: 'blur then luma then mask (an old photo, preconditioned)',
    make: (s, cg) => new Composition([blur(s, gaussianKernel(1.2)), luma(s), mask({ ...s, c: 1 }, randomMask(s.h, s.w, 17))], { cg }),
    shape: odd,
    small: tiny,
    closedForm: false,
  },
  {
    name: 'identity then mask (closed form kept)',
    make: (s) => compose(identity(s), mask(s, randomMask(s.h, s.w, 13)), identity(s)),
    shape: odd,
    small: tiny,
    closedForm: true,
  },
];

/** Worst errors seen, printed with OPS_REPORT=1. */
const worst = new Map<string, number>();

const note = (key: string, v: number): void => void worst.set(key, Math.max(worst.get(key) ?? 0, v));

afterAll(() => {
  if (process.env.OPS_REPORT) console.log([...worst].map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

const TIGHT: CgOptions = { tol: 1e-12, maxIter: 5000 };

describe.each(cases)('$name', ({ name, make, shape, small, closedForm }) => {
  const op = make(shape);
  const kind = closedForm ? 'closed' : 'cg';

  it('has an exact adjoint: <A x, y> = <x, A^T y>', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const x = randn(sizeOf(op.inShape), seed);
      const y = randn(sizeOf(op.outShape), seed + 100);
      const lhs = dot(op.forward(x), y);
      const rhs = dot(x, op.adjoint(y));
      const err = Math.abs(lhs - rhs) / Math.abs(lhs);
      note(`adjoint ${name}`, err);
      expect(err).toBeLessThan(1e-5);
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.sqrt(dot(x, x) * dot(y, y)));
    }
  });

  it('satisfies A A^+ A x = A x with a minimum-norm A^+', () => {
    const x = randn(sizeOf(op.inShape), 21);
    // Ill-posed blurs need many CGLS iterations to fit their faintest frequencies to 1e-4.
    const pop = make(shape, { maxIter: 6000, onSolve: (s) => note(`A A+ A iterations ${name}`, s.iterations) });
    const ax = pop.forward(x);
    const xPlus = pop.pinv(ax);
    const err = relErr(pop.forward(xPlus), ax);
    note(`A A+ A (${kind}) ${name}`, err);
    expect(err).toBeLessThan(closedForm ? 1e-6 : 1e-4);
    expect(dot(xPlus, xPlus)).toBeLessThanOrEqual(dot(x, x) * (1 + 1e-9));
  });

  it.each([1, 1e3, 1e6])('normalSolve matches a dense solve of (alpha A^T A + beta I) u = r, alpha/beta = %d', (ratio) => {
    const sop = make(small, TIGHT);
    const dense = denseOf(sop);
    const beta = 0.7;
    const alpha = beta * ratio;
    const r = randn(sizeOf(small), 31);
    const want = choleskySolve(normalMatrix(dense, alpha, beta), r);
    const err = relErr(sop.normalSolve(r, alpha, beta), want);
    note(`normalSolve (${kind}) ${name}`, err);
    expect(err).toBeLessThan(closedForm ? 1e-9 : 1e-6);
  });

  it('leaves its inputs alone', () => {
    const x = randn(sizeOf(op.inShape), 41);
    const y = randn(sizeOf(op.outShape), 42);
    const [x0, y0] = [Float64Array.from(x), Float64Array.from(y)];
    op.forward(x);
    op.normalSolve(x, 2, 0.5);
    op.adjoint(y);
    op.pinv(y);
    expect(x).toEqual(x0);
    expect(y).toEqual(y0);
  });
});
