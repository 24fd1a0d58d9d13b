/**
 * `--kernel auto` end to end: restore --task deblur estimates the Gaussian blur of the input it is
 * given, reports it on stderr or in --json, and deblurs with it; a photo that reads sharp, or one
 * without detail to read, is refused with one line; degrade and eval, which blur with the kernel they
 * are given, refuse auto with one line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST, runCli } from './run-cli.js';
import { estimatedBlurKernel, SHARP_STD } from '../../engine/estimate/blur-width.js';
import { blur } from '../../engine/operators/blur.js';
import { gaussianKernel } from '../../engine/operators/kernels.js';
import { readImage, writeImage } from '../../engine/photo/image.js';
import { edgeScene } from '../engine/helpers.js';

const STD = 2;
const run = runCli;

let dir: string;
let blurredPng: string;
let sharpPng: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-kernel-auto-'));
  const img = edgeScene(128, 144);
  sharpPng = join(dir, 'sharp.png');
  blurredPng = join(dir, 'blurred.png');
  // 16-bit PNGs, so that quantisation adds nothing measurable.
  await writeImage(sharpPng, img, { bitDepth: 16 });
  await writeImage(blurredPng, { ...img, data: blur(img, gaussianKernel(STD)).forward(img.data) }, { bitDepth: 16 });
});

describe('--kernel auto', () => {
  it('restore estimates the blur of the input and reports the kernel in --json', async () => {
    const r = run(['restore', '--task', 'deblur', '--kernel', 'auto', '--sigma-y', '0.01', '--input', blurredPng, '--output', join(dir, 'deblurred.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.kernelEstimated).toBe(true);
    // What the engine reads from the same file, to 0.01 px, and near the blur the scene was given.
    const expected = estimatedBlurKernel((await readImage(blurredPng)).image).kernel;
    expect(summary.kernel).toEqual(expected);
    expect(Math.abs(summary.kernel.std - STD)).toBeLessThan(0.3);
    expect(summary.operator).toMatch(/^blur\(gaussian std /);
    // --json keeps stderr free of notes.
    expect(r.stderr).toBe('');
  });

  it('without --json, says the estimate on stderr', () => {
    const r = run(['restore', '--task', 'deblur', '--kernel', 'auto', '--sigma-y', '0.01', '--input', blurredPng, '--output', join(dir, 'deblurred2.png'), ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: estimated blur std = \d\.\d\d px$/m);
  });

  it('a kernel given is used as it is and reported as not estimated', () => {
    const r = run(['restore', '--task', 'deblur', '--kernel', 'gaussian:1.2', '--sigma-y', '0.01', '--input', blurredPng, '--output', join(dir, 'deblurred3.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.kernel).toEqual({ type: 'gaussian', std: 1.2 });
    expect(summary.kernelEstimated).toBe(false);
  });

  it('a photo that reads sharp is refused with one line that says what to do', () => {
    const r = run(['restore', '--task', 'deblur', '--kernel', 'auto', '--sigma-y', '0.01', '--input', sharpPng, '--output', join(dir, 'sharp-out.png'), ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: --kernel auto: the photo looks sharp \\(estimated blur std 0\\.\\d\\d px, below ${SHARP_STD}\\): there is nothing to deblur; give --kernel gaussian:STD to deblur anyway$`),
    );
  });

  it('degrade and eval refuse it with one line', () => {
    const d = run(['degrade', '--task', 'deblur', '--kernel', 'auto', '--input', sharpPng, '--output', join(dir, 'measured.png')]);
    expect(d.code).toBe(1);
    expect(d.stderr).toBe('error: --kernel auto is for restore only: degrade blurs with the kernel it is given (gaussian:STD, motion:LEN:ANGLE or file:PATH)');
    const e = run(['eval', '--task', 'deblur', '--kernel', 'auto', '--input', dir, ...FAST]);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe('error: --kernel auto is for restore only: eval blurs with the kernel it is given (gaussian:STD, motion:LEN:ANGLE or file:PATH)');
  });

  it('an input without detail to read is refused with one line that says what to do', async () => {
    const flat = join(dir, 'flat.png');
    await sharp({ create: { width: 96, height: 80, channels: 3, background: '#808080' } })
      .png()
      .toFile(flat);
    const r = run(['restore', '--task', 'deblur', '--kernel', 'auto', '--sigma-y', '0.01', '--input', flat, '--output', join(dir, 'flat-out.png'), ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: --kernel auto: the image (96x80) has too little detail above its noise to estimate its blur: it needs 6 frequencies above the noise, it has 0; give --kernel gaussian:STD',
    );
  });
});
