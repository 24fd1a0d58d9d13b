/**
 * `--sigma-y auto` end to end: restore estimates the noise level of the input it is given (the
 * low-resolution one for super-resolution), reports it on stderr or in --json, and restores with
 * it; degrade and eval, which add noise of the level given, refuse it with one line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST, runCli } from './run-cli.js';
import { writeImage } from '../../engine/photo/image.js';
import { randn } from '../engine/helpers.js';

const SIGMA = 0.05;
const run = runCli;

let dir: string;
let noisyPng: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-sigma-auto-'));
  noisyPng = join(dir, 'noisy.png');
  // Smooth colour gradients plus seeded white noise of std SIGMA, clipped, written as a 16-bit PNG
  // so that quantisation adds nothing measurable.
  const w = 96;
  const h = 80;
  const noise = randn(3 * h * w, 42);
  const data = new Float64Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (c * h + y) * w + x;
        data[i] = Math.min(1, Math.max(0, 0.25 + (0.4 * x) / w + (0.2 * y) / h + 0.05 * c + SIGMA * noise[i]));
      }
  await writeImage(noisyPng, { c: 3, h, w, data }, { bitDepth: 16 });
});

describe('--sigma-y auto', () => {
  it('restore estimates the noise of the input and reports it in --json', () => {
    const r = run(['restore', '--task', 'denoise', '--sigma-y', 'auto', '--input', noisyPng, '--output', join(dir, 'denoised.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.sigmaYEstimated).toBe(true);
    // Within 10%: the estimator's worst case on the development photos at sigma >= 0.02 is 9.2%
    // (docs/ALGORITHM.md), and this smooth input is far easier than those.
    expect(Math.abs(summary.sigmaY / SIGMA - 1)).toBeLessThan(0.1);
    // --json keeps stderr free of notes.
    expect(r.stderr).toBe('');
  });

  it('without --json, says the estimate on stderr', () => {
    const r = run(['restore', '--task', 'denoise', '--sigma-y', 'auto', '--input', noisyPng, '--output', join(dir, 'denoised2.png'), ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const m = /^note: estimated noise level sigma_y = (0\.\d{3})$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Math.abs(Number(m![1]) / SIGMA - 1)).toBeLessThan(0.1);
  });

  it('a number given is used as it is and reported as not estimated', () => {
    const r = run(['restore', '--task', 'denoise', '--sigma-y', '0.02', '--input', noisyPng, '--output', join(dir, 'denoised3.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.sigmaY).toBe(0.02);
    expect(summary.sigmaYEstimated).toBe(false);
  });

  it('super-resolution estimates on the low-resolution input as given', () => {
    const r = run(['restore', '--task', 'sr', '--scale', '2', '--sigma-y', 'auto', '--input', noisyPng, '--output', join(dir, 'sr.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect([summary.width, summary.height]).toEqual([192, 160]);
    expect(Math.abs(summary.sigmaY / SIGMA - 1)).toBeLessThan(0.1);
  });

  it('degrade and eval refuse it with one line', () => {
    const d = run(['degrade', '--task', 'denoise', '--sigma-y', 'auto', '--input', noisyPng, '--output', join(dir, 'measured.png')]);
    expect(d.code).toBe(1);
    expect(d.stderr).toBe('error: --sigma-y auto is for restore only: degrade adds noise of the level it is given, a number in [0, 1)');
    const e = run(['eval', '--task', 'denoise', '--sigma-y', 'auto', '--input', dir, ...FAST]);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe('error: --sigma-y auto is for restore only: eval adds noise of the level it is given, a number in [0, 1)');
  });

  it('an input too small to estimate from is refused with one line that says what to do', async () => {
    const tiny = join(dir, 'tiny.png');
    await sharp({ create: { width: 5, height: 4, channels: 3, background: '#808080' } })
      .png()
      .toFile(tiny);
    const r = run(['restore', '--task', 'denoise', '--sigma-y', 'auto', '--input', tiny, '--output', join(dir, 'tiny-out.png'), ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: --sigma-y auto: the image (5x4) is too small to estimate its noise level: it needs at least 100 patches of 6x6 pixels; give --sigma-y S');
  });
});
