/**
 * Operator conventions: the boundary, kernel origins, kernels from their specs, the user's mask,
 * the operator each task gets, and the transforms' identities.
 */
import { describe, expect, it } from 'vitest';
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
  convolveSymmetric,
  gaussianKernel,
  kernelFromSpec,
  luma,
  mask,
  motionKernel,
  operatorFor,
  symmetricIndex,
  type Kernel,
} from '../../engine/operators/index.js';
import { isMissing, maskFromRestoreImage, needsSolve, observedFromRestoreLevels, restoreLevelsFromObserved } from '../../engine/photo/user-mask.js';
import type { TaskSpec } from '../../engine/tasks.js';
import { UserError, type Shape } from '../../engine/types.js';
import { dctPlan } from '../../engine/linalg/dct.js';
import { randn, randomMask, relErr, sizeOf } from './helpers.js';

/** A non-separable even-sized kernel, to exercise the origin convention and the general path. */
const unevenKernel: Kernel = { h: 4, w: 2, data: Float64Array.from([0.3, 0.1, 0.05, 0.2, 0.1, 0.1, 0.02, 0.13]), label: 'uneven' };

const odd: Shape = { c: 3, h: 37, w: 31 };

describe('conventions', () => {
  it('symmetric extension repeats the edge sample', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 9, 10].map((p) => symmetricIndex(p, 5))).toEqual([2, 1, 0, 0, 4, 4, 3, 0, 0]);
    expect([-2, -1, 0, 1, 2].map((p) => symmetricIndex(p, 1))).toEqual([0, 0, 0, 0, 0]);
  });

  it('blur is y[i,j] = sum k[a,b] x[i+ca-a, j+cb-b] over the symmetric extension', () => {
    const s: Shape = { c: 2, h: 7, w: 4 };
    const x = randn(sizeOf(s), 3);
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
    const x = randn(sizeOf(odd), 4);
    const viaFactors = blur(odd, k).forward(x);
    const direct = convolveSymmetric(x, odd.c, odd.h, odd.w, k);
    expect(relErr(viaFactors, direct)).toBeLessThan(1e-13);
  });

  it('blur keeps constants (kernel sums to 1, symmetric boundary)', () => {
    const y = blur(odd, motionKernel(12, 17)).forward(new Float64Array(sizeOf(odd)).fill(0.25));
    for (const v of y) expect(v).toBeCloseTo(0.25, 12);
  });

  it('bicubic keeps constants and samples linear ramps at block centres', () => {
    const s: Shape = { c: 1, h: 24, w: 24 };
    for (const scale of [2, 3, 4]) {
      const op = bicubicDownsample(s, scale);
      for (const v of op.forward(new Float64Array(sizeOf(s)).fill(0.4))) expect(v).toBeCloseTo(0.4, 12);
      const ramp = Float64Array.from({ length: sizeOf(s) }, (_, p) => p % s.w);
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
    const m = kernelFromSpec({
      type: 'matrix',
      rows: [
        [1, 2, 3],
        [4, 5, 5],
      ],
    });
    expect([m.h, m.w]).toEqual([2, 3]);
    expect(m.data[5]).toBeCloseTo(0.25, 15);
    expect(sum(kernelFromSpec({ type: 'matrix', rows: [[-1, 3]] }))).toBeCloseTo(1, 15);
  });

  it('kernelFromSpec rejects kernels it cannot normalise, with a clear message', () => {
    const bad = (rows: number[][]) => () => kernelFromSpec({ type: 'matrix', rows });
    expect(
      bad([
        [1, -1],
        [0, 0],
      ]),
    ).toThrow(UserError);
    expect(
      bad([
        [1, -1],
        [0, 0],
      ]),
    ).toThrow(/must sum to a positive finite number.*sum is 0/);
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

  it("keeps grey levels as soft weights when asked ('grey': 1 - luma x alpha)", () => {
    const data = Uint8ClampedArray.from([255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0, 102, 102, 102, 255]);
    const soft = [...maskFromRestoreImage({ data, width: 2, height: 2 }, 'grey')];
    expect(soft.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 1, 1, 0.6]);
  });
});

describe("the page's mask levels (0 = keep, 255 = restore)", () => {
  it('are the observed weights 1 - level / 255, and come back from them exactly', () => {
    const levels = Uint8Array.from({ length: 256 }, (_, i) => i);
    const observed = observedFromRestoreLevels(levels);
    expect([observed[0], observed[255], observed[51]]).toEqual([1, 0, 1 - 51 / 255]);
    expect(restoreLevelsFromObserved(observed)).toEqual(levels);
    // A level of 128 or more is a missing pixel, as the page counts what it restores; any level above 0 is solved.
    expect([isMissing(observed[127]!), isMissing(observed[128]!)]).toEqual([false, true]);
    expect([needsSolve(observed[0]!), needsSolve(observed[1]!)]).toEqual([false, true]);
  });

  it('name the share observed in the Mask operator as isMissing counts it (soft weights of a half or more observed)', () => {
    const op = new Mask({ c: 1, h: 1, w: 4 }, Float64Array.from([1, 0.6, 0.4, 0]));
    expect(op.name).toBe('mask (50.0% observed)');
    expect(op.forward(Float64Array.from([1, 1, 1, 1]))).toEqual(Float64Array.from([1, 0.6, 0.4, 0]));
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
      const want = Float64Array.from({ length: len }, (_, k) => x.reduce((s, v, m) => s + v * Math.cos((Math.PI * k * (2 * m + 1)) / (2 * len)), 0));
      expect(relErr(t, want)).toBeLessThan(1e-13);
      dctPlan(len).inverse(t);
      expect(relErr(t, x)).toBeLessThan(1e-13);
    }
  });
});
