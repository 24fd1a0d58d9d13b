/**
 * The old-photo task (issue 13, item 3): its operator is the chain blur, luma, mask of what the spec
 * has; the chain's preconditioner is exact where the theory says it is and cuts CG's iterations
 * elsewhere; its inexact Gauss-Newton step keeps VML-MAP's fixed points and descends; the
 * measurement of a window is the photo after the blur; degrade draws a synthetic old photo.
 */
import { describe, expect, it } from 'vitest';
import { degrade } from '../../engine/job/restore.js';
import { windowProblem, wholeRect } from '../../engine/job/problem.js';
import { conjugateGradient } from '../../engine/linalg/cg.js';
import { chainPreconditioner } from '../../engine/operators/chain-preconditioner.js';
import { Blur, Composition, gaussianKernel, Identity, Luma, Mask, operatorFor } from '../../engine/operators/index.js';
import { gaussNewtonResidual } from '../../engine/operators/residual.js';
import type { TaskSpec } from '../../engine/tasks.js';
import type { LinearOperator, Shape } from '../../engine/types.js';
import { scratchesObserved } from '../../engine/photo/masks.js';
import { dot, randn, relErr } from './helpers.js';

const shape: Shape = { c: 3, h: 40, w: 36 };
const hw = shape.h * shape.w;
/** Thin scratches, as old photos have (a random pixel mask would be no photo's damage). */
const observed = scratchesObserved(shape.h, shape.w, 5, 0.06);
const blurSpec: TaskSpec = { task: 'old-photo', kernel: { type: 'gaussian', std: 1.5 }, sigmaY: 0.03 };

/** M v = alpha A^T A v + beta v. */
const normal = (op: LinearOperator, alpha: number, beta: number) => (v: Float64Array) => {
  const out = op.adjoint(op.forward(v));
  for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + beta * v[i];
  return out;
};

describe('the old-photo operator', () => {
  it('is the chain of what the spec has, and the identity when it has nothing', () => {
    expect(operatorFor({ task: 'old-photo', sigmaY: 0.02 }, shape)).toBeInstanceOf(Identity);
    expect(operatorFor({ task: 'old-photo', sigmaY: 0.02 }, shape, new Float64Array(hw).fill(1))).toBeInstanceOf(Identity);
    expect(operatorFor(blurSpec, shape)).toBeInstanceOf(Blur);
    expect(operatorFor({ task: 'old-photo', sigmaY: 0.02 }, shape, observed)).toBeInstanceOf(Mask);
    const full = operatorFor({ ...blurSpec, colorize: true }, shape, observed) as Composition;
    expect(full).toBeInstanceOf(Composition);
    expect(full.operators.map((o) => o.constructor.name)).toEqual(['Blur', 'Luma', 'Mask']);
    expect(full.outShape).toEqual({ c: 1, h: shape.h, w: shape.w });
  });

  it('measures a window of the photo after its blur: the luma when colourising, times the mask', () => {
    const photo = randn(3 * hw, 1).map((v) => 0.5 + 0.1 * v);
    const spec = { ...blurSpec, colorize: true };
    const { op, y } = windowProblem({ image: { ...shape, data: photo }, observed, spec, solver: { solver: 'vml-fp', preset: 'fast', seed: 0 } }, shape, wholeRect(shape), 1);
    const grey = new Luma(shape).forward(photo);
    expect(y.length).toBe(hw);
    for (let p = 0; p < hw; p++) expect(y[p]).toBeCloseTo(grey[p]! * observed[p]!, 12);
    expect(op.name).toContain('then luma then mask');
  });
});

describe('the chain preconditioner', () => {
  const alpha = 1 / 0.03 ** 2;
  const beta = 1 / 0.2 ** 2;
  const r = randn(3 * hw, 2);

  it('is M^-1 itself for luma then mask, and for blur then luma (no mask)', () => {
    for (const ops of [
      [new Luma(shape), new Mask({ ...shape, c: 1 }, observed)],
      [new Blur(shape, gaussianKernel(1.5)), new Luma(shape)],
    ]) {
      const op = new Composition(ops);
      const exact = conjugateGradient(normal(op, alpha, beta), r, { tol: 1e-13, maxIter: 5000 });
      expect(relErr(chainPreconditioner(ops)!.at(alpha, beta)(r), exact)).toBeLessThan(1e-8);
    }
  });

  it('is symmetric positive definite for blur then mask, and at least halves the CG iterations', () => {
    const ops = [new Blur(shape, gaussianKernel(1.5)), new Mask(shape, observed)];
    const P = chainPreconditioner(ops)!.at(alpha, beta);
    const u = randn(3 * hw, 3);
    const v = randn(3 * hw, 4);
    expect(Math.abs(dot(P(u), v) - dot(u, P(v))) / Math.abs(dot(P(u), v))).toBeLessThan(1e-10);
    expect(dot(P(u), u)).toBeGreaterThan(0);
    const op = new Composition(ops);
    const iterations = (precondition?: (x: Float64Array) => Float64Array): number => {
      let n = 0;
      conjugateGradient(normal(op, alpha, beta), r, { tol: 1e-6, maxIter: 5000, onSolve: (s) => (n = s.iterations) }, precondition);
      return n;
    };
    const plain = iterations();
    const pre = iterations(P);
    expect(pre * 2).toBeLessThanOrEqual(plain);
  });

  it('is absent for chains it does not understand', () => {
    expect(chainPreconditioner([new Mask(shape, observed), new Blur(shape, gaussianKernel(1))])).toBeNull();
    expect(chainPreconditioner([new Blur(shape, gaussianKernel(1))])).toBeNull();
  });
});

describe("the chain's Gauss-Newton step", () => {
  const op = operatorFor({ ...blurSpec, colorize: true }, shape, observed);
  const alpha = 1 / 0.03 ** 2;
  const beta = 1 / 0.1 ** 2;
  const d = randn(3 * hw, 6).map((v) => 0.5 + 0.1 * v);

  it('is exactly zero where r = 0 (y = A D and z = D), so the fixed points do not move', () => {
    const step = op.gaussNewtonStep!(d, d, op.forward(d), alpha, beta);
    expect(step.every((v) => v === 0)).toBe(true);
  });

  it('descends: <r, step> > 0, and is close to the exact M^-1 r', () => {
    const z = randn(3 * hw, 7).map((v) => 0.5 + 0.1 * v);
    const y = op.forward(randn(3 * hw, 8).map((v) => 0.5 + 0.1 * v));
    const step = op.gaussNewtonStep!(d, z, y, alpha, beta);
    const r = gaussNewtonResidual(op, d, z, y, alpha, beta);
    expect(dot(r, step)).toBeGreaterThan(0);
    const exact = op.normalSolve(r, alpha, beta);
    expect(relErr(step, exact)).toBeLessThan(0.2);
  });
});

describe('degrade --task old-photo', () => {
  const clean = { ...shape, data: randn(3 * hw, 9).map((v) => Math.min(1, Math.max(0, 0.5 + 0.15 * v))) };

  it('blurs, adds grain and draws damage; its mask marks the damage', () => {
    const d = degrade(clean, blurSpec, 3);
    const blurred = new Blur(shape, gaussianKernel(1.5)).forward(clean.data);
    let away = 0;
    let residual = 0;
    for (let p = 0; p < hw; p++) {
      if (d.observed![p] !== 1) continue;
      for (let c = 0; c < 3; c++) residual += (d.image.data[c * hw + p]! - blurred[c * hw + p]!) ** 2;
      away += 3;
    }
    expect(Math.sqrt(residual / away)).toBeGreaterThan(0.02);
    expect(Math.sqrt(residual / away)).toBeLessThan(0.04);
    const damaged = d.observed!.filter((m) => m === 0).length / hw;
    expect(damaged).toBeGreaterThan(0.01);
    expect(damaged).toBeLessThan(0.1);
  });

  it('is grey on all three channels when colourising, and refuses a kernel that is not Gaussian', () => {
    const d = degrade(clean, { ...blurSpec, colorize: true }, 3);
    for (let p = 0; p < hw; p++) {
      expect(d.image.data[p]).toBe(d.image.data[hw + p]);
      expect(d.image.data[p]).toBe(d.image.data[2 * hw + p]);
    }
    expect(() => degrade(clean, { ...blurSpec, kernel: { type: 'motion', length: 5, angle: 0 } }, 3)).toThrow(/Gaussian/);
  });
});
