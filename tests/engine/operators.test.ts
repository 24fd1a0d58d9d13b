import { afterAll, describe, expect, it } from 'vitest';
import {
  BicubicDownsample,
  Blur,
  BoxDownsample,
  Identity,
  Luma,
  Mask,
  bicubicDownsample,
  blur,
  boxDownsample,
  compose,
  convolveSymmetric,
  conjugateGradient,
  gaussianKernel,
  identity,
  kernelFromSpec,
  luma,
  mask,
  maskFromRestoreImage,
  motionKernel,
  normalSolveByCg,
  operatorFor,
  symmetricIndex,
  Composition,
  type CgOptions,
  type CgStats,
  type Kernel,
} from '../../engine/operators/index.js';
import type { TaskSpec } from '../../engine/tasks.js';
import { UserError, type LinearOperator, type Shape } from '../../engine/types.js';
import { dctPlan } from '../../engine/linalg/dct.js';
import { choleskySolve, denseOf, dot, normalMatrix, randn, relErr, rng } from './helpers.js';

const n = (s: Shape): number => s.c * s.h * s.w;

function randomMask(h: number, w: number, seed: number, observed = 0.6): Float64Array {
  const u = rng(seed);
  return Float64Array.from({ length: h * w }, () => (u() < observed ? 1 : 0));
}

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
      const x = randn(n(op.inShape), seed);
      const y = randn(n(op.outShape), seed + 100);
      const lhs = dot(op.forward(x), y);
      const rhs = dot(x, op.adjoint(y));
      const err = Math.abs(lhs - rhs) / Math.abs(lhs);
      note(`adjoint ${name}`, err);
      expect(err).toBeLessThan(1e-5);
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.sqrt(dot(x, x) * dot(y, y)));
    }
  });

  it('satisfies A A^+ A x = A x with a minimum-norm A^+', () => {
    const x = randn(n(op.inShape), 21);
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
    const r = randn(n(small), 31);
    const want = choleskySolve(normalMatrix(dense, alpha, beta), r);
    const err = relErr(sop.normalSolve(r, alpha, beta), want);
    note(`normalSolve (${kind}) ${name}`, err);
    expect(err).toBeLessThan(closedForm ? 1e-9 : 1e-6);
  });

  it('leaves its inputs alone', () => {
    const x = randn(n(op.inShape), 41);
    const y = randn(n(op.outShape), 42);
    const [x0, y0] = [Float64Array.from(x), Float64Array.from(y)];
    op.forward(x);
    op.normalSolve(x, 2, 0.5);
    op.adjoint(y);
    op.pinv(y);
    expect(x).toEqual(x0);
    expect(y).toEqual(y0);
  });
});

describe('conventions', () => {
  it('symmetric extension repeats the edge sample', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 9, 10].map((p) => symmetricIndex(p, 5))).toEqual([2, 1, 0, 0, 4, 4, 3, 0, 0]);
    expect([-2, -1, 0, 1, 2].map((p) => symmetricIndex(p, 1))).toEqual([0, 0, 0, 0, 0]);
  });

  it('blur is y[i,j] = sum k[a,b] x[i+ca-a, j+cb-b] over the symmetric extension', () => {
    const s: Shape = { c: 2, h: 7, w: 4 };
    const x = randn(n(s), 3);
    for (const k of [unevenKernel, gaussianKernel(1.2), motionKernel(6, 135)]) {
      const got = blur(s, k).forward(x);
      const ca = k.h >> 1;
      const cb = k.w >> 1;
      for (let c = 0; c < s.c; c++) {
        for (let i = 0; i < s.h; i++) {
          for (let j = 0; j < s.w; j++) {
            let want = 0;
            for (let a = 0; a < k.h; a++) {
              for (let b = 0; b < k.w; b++) {
                want += k.data[a * k.w + b] * x[(c * s.h + symmetricIndex(i + ca - a, s.h)) * s.w + symmetricIndex(j + cb - b, s.w)];
              }
            }
            expect(got[(c * s.h + i) * s.w + j]).toBeCloseTo(want, 12);
          }
        }
      }
    }
  });

  it('blur with a separable kernel equals the direct 2-D convolution', () => {
    const k = gaussianKernel(2);
    const x = randn(n(odd), 4);
    const viaFactors = blur(odd, k).forward(x);
    const direct = convolveSymmetric(x, odd.c, odd.h, odd.w, k);
    expect(relErr(viaFactors, direct)).toBeLessThan(1e-13);
  });

  it('blur keeps constants (kernel sums to 1, symmetric boundary)', () => {
    const y = blur(odd, motionKernel(12, 17)).forward(new Float64Array(n(odd)).fill(0.25));
    for (const v of y) expect(v).toBeCloseTo(0.25, 12);
  });

  it('bicubic keeps constants and samples linear ramps at block centres', () => {
    const s: Shape = { c: 1, h: 24, w: 24 };
    for (const scale of [2, 3, 4]) {
      const op = bicubicDownsample(s, scale);
      for (const v of op.forward(new Float64Array(n(s)).fill(0.4))) expect(v).toBeCloseTo(0.4, 12);
      const ramp = Float64Array.from({ length: n(s) }, (_, p) => p % s.w);
      const y = op.forward(ramp);
      const wo = op.outShape.w;
      // Away from the edges (2s input pixels), the cubic reproduces linear functions exactly.
      for (let i = 0; i < op.outShape.h; i++) {
        for (let j = 2; j < wo - 2; j++) expect(y[i * wo + j]).toBeCloseTo((j + 0.5) * scale - 0.5, 10);
      }
    }
  });

  it('box averages blocks, mask zeroes missing pixels, luma weights channels', () => {
    const box = boxDownsample({ c: 1, h: 2, w: 4 }, 2).forward(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect([...box]).toEqual([3.5, 5.5]);
    const m = mask({ c: 2, h: 1, w: 3 }, Float64Array.from([1, 0, 1])).forward(Float64Array.from([1, 2, 3, 4, 5, 6]));
    expect([...m]).toEqual([1, 0, 3, 4, 0, 6]);
    const l = luma({ c: 3, h: 1, w: 1 }).forward(Float64Array.from([1, 0.5, 0.25]));
    expect(l[0]).toBeCloseTo(0.299 + 0.587 / 2 + 0.114 / 4, 14);
  });

  it('explains sizes a downsampler cannot take', () => {
    expect(() => boxDownsample(odd, 2)).toThrow(/multiples of 2.*31x37/);
    expect(() => bicubicDownsample({ c: 3, h: 36, w: 30 }, 4)).toThrow(UserError);
    expect(() => boxDownsample({ c: 1, h: 10, w: 10 }, 5)).toThrow(/2, 3 or 4/);
  });
});

describe('kernels', () => {
  const sum = (k: Kernel): number => k.data.reduce((s, v) => s + v, 0);
  /** Mean and covariance of the kernel as a distribution over (x right, y up). */
  function moments(k: Kernel): { mx: number; my: number; cxx: number; cyy: number; cxy: number } {
    let mx = 0;
    let my = 0;
    k.data.forEach((v, p) => {
      mx += v * (p % k.w);
      my += v * -Math.floor(p / k.w);
    });
    let cxx = 0;
    let cyy = 0;
    let cxy = 0;
    k.data.forEach((v, p) => {
      const dx = (p % k.w) - mx;
      const dy = -Math.floor(p / k.w) - my;
      cxx += v * dx * dx;
      cyy += v * dy * dy;
      cxy += v * dx * dy;
    });
    return { mx, my, cxx, cyy, cxy };
  }

  it('gaussian: sums to 1, default size 2 ceil(3 std) + 1, matching std', () => {
    for (const std of [0.8, 1.5, 3]) {
      const k = gaussianKernel(std);
      expect(k.h).toBe(2 * Math.ceil(3 * std) + 1);
      expect(sum(k)).toBeCloseTo(1, 14);
      const { mx, cxx, cyy, cxy } = moments(k);
      expect(mx).toBeCloseTo((k.w - 1) / 2, 12);
      // Truncation at 3 std trims the variance by about 3%.
      expect(Math.sqrt(cxx) / std).toBeGreaterThan(0.97);
      expect(Math.sqrt(cxx) / std).toBeLessThan(1.02);
      expect(cyy).toBeCloseTo(cxx, 12);
      expect(cxy).toBeCloseTo(0, 12);
    }
    expect(gaussianKernel(1, 4).h).toBe(4);
  });

  it('motion: sums to 1, centred, with the asked length and angle', () => {
    for (const [length, angle] of [
      [15, 30],
      [9, 0],
      [21, 100],
      [4, -45],
    ]) {
      const k = motionKernel(length, angle);
      expect(sum(k)).toBeCloseTo(1, 12);
      expect(k.h % 2).toBe(1);
      expect(k.w % 2).toBe(1);
      const { mx, my, cxx, cyy, cxy } = moments(k);
      expect(mx).toBeCloseTo((k.w - 1) / 2, 6);
      expect(my).toBeCloseTo(-(k.h - 1) / 2, 6);
      const major = (cxx + cyy) / 2 + Math.sqrt(((cxx - cyy) / 2) ** 2 + cxy ** 2);
      const minor = cxx + cyy - major;
      const axis = (Math.atan2(2 * cxy, cxx - cyy) / 2) * (180 / Math.PI);
      const turn = ((((axis - angle) % 180) + 270) % 180) - 90;
      expect(Math.abs(turn)).toBeLessThan(1);
      // A uniform segment of length L has variance L^2 / 12; bilinear spreading adds under 1/4 px^2.
      expect(Math.sqrt(12 * major)).toBeGreaterThan(length * 0.98);
      expect(Math.sqrt(12 * major)).toBeLessThan(Math.sqrt(length * length + 3));
      expect(minor).toBeLessThan(0.25);
    }
  });

  it('kernelFromSpec builds and normalises every kind', () => {
    expect(kernelFromSpec({ type: 'gaussian', std: 2 }).h).toBe(13);
    expect(sum(kernelFromSpec({ type: 'motion', length: 11, angle: 45 }))).toBeCloseTo(1, 12);
    const m = kernelFromSpec({ type: 'matrix', rows: [[1, 2, 3], [4, 5, 5]] });
    expect([m.h, m.w]).toEqual([2, 3]);
    expect(m.data[5]).toBeCloseTo(0.25, 15);
    expect(sum(kernelFromSpec({ type: 'matrix', rows: [[-1, 3]] }))).toBeCloseTo(1, 15);
  });

  it('kernelFromSpec rejects kernels it cannot normalise, with a clear message', () => {
    const bad = (rows: number[][]) => () => kernelFromSpec({ type: 'matrix', rows });
    expect(bad([[1, -1], [0, 0]])).toThrow(UserError);
    expect(bad([[1, -1], [0, 0]])).toThrow(/must sum to a positive finite number.*sum is 0/);
    expect(bad([[-1, -2]])).toThrow(/sum is -3/);
    expect(bad([[1, Number.NaN]])).toThrow(/row 1, column 2 is not a finite number/);
    expect(bad([[1, 2], [3]])).toThrow(/rows of equal/);
    expect(bad([])).toThrow(UserError);
    expect(() => kernelFromSpec({ type: 'gaussian', std: 0 })).toThrow(/std must be a positive number/);
    expect(() => kernelFromSpec({ type: 'gaussian', std: 1e6 })).toThrow(/at most/);
    expect(() => kernelFromSpec({ type: 'motion', length: -3, angle: 0 })).toThrow(/length must be a positive number/);
    expect(() => kernelFromSpec({ type: 'box' } as never)).toThrow(/unknown blur kernel type "box"/);
  });
});

describe('maskFromRestoreImage', () => {
  it('white (to restore) becomes 0, black becomes 1, in RGBA over transparency too', () => {
    // 4 pixels: opaque white, opaque black, transparent white, half-grey.
    const data = Uint8ClampedArray.from([255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0, 100, 100, 100, 255]);
    expect([...maskFromRestoreImage({ data, width: 2, height: 2 })]).toEqual([0, 1, 1, 1]);
    expect([...maskFromRestoreImage({ data, width: 2, height: 2 }, 0.3)]).toEqual([0, 1, 1, 0]);
  });

  it('reads planar grey images in [0, 1] and grey 8-bit data', () => {
    const img = { c: 1, h: 1, w: 3, data: Float64Array.from([0.9, 0.1, 0.6]) };
    expect([...maskFromRestoreImage(img)]).toEqual([0, 1, 0]);
    expect([...maskFromRestoreImage({ data: Uint8Array.from([0, 200]), width: 2, height: 1 })]).toEqual([1, 0]);
    expect(() => maskFromRestoreImage({ data: new Uint8Array(5), width: 2, height: 1 })).toThrow(UserError);
  });
});

describe('operatorFor', () => {
  const spec = (s: Partial<TaskSpec>): TaskSpec => ({ task: 'denoise', sigmaY: 0.01, ...s });
  const hr: Shape = { c: 3, h: 36, w: 24 };

  it('picks the operator of each task', () => {
    expect(operatorFor(spec({ task: 'denoise' }), hr)).toBeInstanceOf(Identity);
    expect(operatorFor(spec({ task: 'inpaint' }), hr, randomMask(36, 24, 1))).toBeInstanceOf(Mask);
    expect(operatorFor(spec({ task: 'colorize' }), hr)).toBeInstanceOf(Luma);
    expect(operatorFor(spec({ task: 'deblur', kernel: { type: 'gaussian', std: 1 } }), hr)).toBeInstanceOf(Blur);
    expect(operatorFor(spec({ task: 'sr', scale: 3 }), hr)).toBeInstanceOf(BicubicDownsample);
    const box = operatorFor(spec({ task: 'sr', scale: 4, srKernel: 'box' }), hr);
    expect(box).toBeInstanceOf(BoxDownsample);
    expect(box.outShape).toEqual({ c: 3, h: 9, w: 6 });
  });

  it('explains missing or invalid parameters', () => {
    expect(() => operatorFor(spec({ task: 'inpaint' }), hr)).toThrow(/needs a mask/);
    expect(() => operatorFor(spec({ task: 'inpaint' }), hr, new Float64Array(10))).toThrow(/mask has 10 pixels/);
    expect(() => operatorFor(spec({ task: 'sr' }), hr)).toThrow(/needs a scale/);
    expect(() => operatorFor(spec({ task: 'sr', scale: 5 as 4 }), hr)).toThrow(/2, 3 or 4/);
    expect(() => operatorFor(spec({ task: 'sr', scale: 2, srKernel: 'lanczos' as 'box' }), hr)).toThrow(/box or bicubic/);
    expect(() => operatorFor(spec({ task: 'deblur' }), hr)).toThrow(/needs a blur kernel/);
    expect(() => operatorFor(spec({ task: 'colorize' }), { c: 1, h: 4, w: 4 })).toThrow(/3-channel/);
    expect(() => operatorFor(spec({ task: 'paint' as 'sr' }), hr)).toThrow(UserError);
  });
});

describe('transforms', () => {
  it('DCT-II of any length matches its definition and inverts exactly', () => {
    for (const len of [1, 2, 5, 8, 37]) {
      const x = randn(len, len);
      const t = Float64Array.from(x);
      dctPlan(len).forward(t);
      const want = Float64Array.from({ length: len }, (_, k) =>
        x.reduce((s, v, m) => s + v * Math.cos((Math.PI * k * (2 * m + 1)) / (2 * len)), 0),
      );
      expect(relErr(t, want)).toBeLessThan(1e-13);
      dctPlan(len).inverse(t);
      expect(relErr(t, x)).toBeLessThan(1e-13);
    }
  });
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
        const [d, z, y] = [randn(n(shape), 1), randn(n(shape), 2), randn(n(shape), 3)];
        for (const [alpha, beta] of [[1e4, 4], [0, 1], [1, 1e6]]) {
          const want = op.normalSolve(residual(op, d, z, y, alpha, beta), alpha, beta);
          // Twice with the same y: the second call reuses the cached transform of A^T y.
          for (let k = 0; k < 2; k++) expect(relErr(op.gaussNewtonStep!(d, z, y, alpha, beta), want)).toBeLessThan(1e-10);
        }
        const y2 = randn(n(shape), 4);
        const want2 = op.normalSolve(residual(op, d, z, y2, 3, 2), 3, 2);
        expect(relErr(op.gaussNewtonStep!(d, z, y2, 3, 2), want2)).toBeLessThan(1e-10);
      }
    }
    // Without a closed form: an inexact CG step, zero where the residual is zero.
    const skew = blur(odd, motionKernel(9, 45));
    const d = randn(n(odd), 5);
    expect(skew.gaussNewtonStep!(d, d, skew.forward(d), 1e4, 4).every((v) => v === 0)).toBe(true);
    const z = randn(n(odd), 6);
    const y = randn(n(odd), 7);
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
    expect(relErr(x, b.map((bi, i) => bi / diag[i]))).toBeLessThan(1e-12);
    expect(stats?.converged).toBe(true);
    expect(stats?.iterations).toBeLessThanOrEqual(6);
  });

  it('symmetric blur kernels solve in closed form, agreeing with CG', () => {
    const r = randn(n(odd), 9);
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
      op.normalSolve(randn(n(op.inShape), 8), ratio, 1);
      note(`${label} normalSolve iterations at ${ratio}`, runs[0].iterations);
      expect(runs[0].converged).toBe(true);
    }
  });

  it.each([1, 1e3, 1e6])('blur normalSolve by CG (motion 30 deg) at alpha/beta = %d', (ratio) => {
    const runs: CgStats[] = [];
    const op = blur(odd, motionKernel(9, 30), { cg: { onSolve: (s) => runs.push(s) } });
    op.normalSolve(randn(n(odd), 9), ratio, 1);
    note(`blur motion30 normalSolve iterations at ${ratio}`, runs[0].iterations);
    note(`blur motion30 normalSolve residual at ${ratio}`, runs[0].relResidual);
    // The reflective boundary leaves CG unpreconditioned: at 1e6 it runs into the cap (see blur.ts).
    if (ratio <= 1e3) expect(runs[0].converged).toBe(true);
  });
});
