/**
 * `--task old-photo` end to end (issue 13, item 3): degrade draws a synthetic old photo and its
 * mask; restore solves it in one run, reading from the photo what it is not told (damage, grain,
 * blur) and reporting each estimate; what it is told it uses as given. Bad combinations get one line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImage, readMask } from '../../engine/photo/image.js';
import { countMissing } from '../../engine/photo/user-mask.js';
import { FAST, runCli } from './run-cli.js';

const PHOTO = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg'; // python-matplotlib-data, installed by .ci/run

let dir: string;
let clean: string;
let old: string;
let mask: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-old-photo-'));
  clean = join(dir, 'clean.png');
  old = join(dir, 'old.png');
  mask = join(dir, 'old-mask.png');
  await sharp(PHOTO).extract({ left: 32, top: 40, width: 320, height: 320 }).png().toFile(clean);
  const d = runCli(['degrade', '--task', 'old-photo', '--kernel', 'gaussian:1.5', '--sigma-y', '0.03', '--seed', '4', '--input', clean, '--output', old, '--mask-out', mask]);
  expect(d.code, d.stderr).toBe(0);
});

describe('vmlmap degrade --task old-photo', () => {
  it('writes the old photo and the mask of the damage it drew', async () => {
    const m = await readMask(mask, 320, 320);
    const share = countMissing(m) / m.length;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.1);
    expect((await readImage(old)).image.w).toBe(320);
  });

  it('needs numbers, and draws its own damage', () => {
    const noSigma = runCli(['degrade', '--task', 'old-photo', '--kernel', 'none', '--input', clean, '--output', join(dir, 'x.png')]);
    expect(noSigma.code).toBe(1);
    expect(noSigma.stderr).toMatch(/^error: .*needs --sigma-y S and --kernel/);
    const withMask = runCli(['degrade', '--task', 'old-photo', '--kernel', 'none', '--sigma-y', '0.02', '--mask', mask, '--input', clean, '--output', join(dir, 'x.png')]);
    expect(withMask.code).toBe(1);
    expect(withMask.stderr.split('\n')).toHaveLength(1);
  });
});

describe('vmlmap restore --task old-photo', () => {
  it('estimates damage, grain and blur from the photo, reports them in --json, and restores', () => {
    const r = runCli(['restore', '--task', 'old-photo', '--input', old, '--output', join(dir, 'restored.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ task: 'old-photo', sigmaYEstimated: true, kernelEstimated: true, damageDetected: true, colorize: false });
    expect(s.sigmaY).toBeGreaterThan(0.015);
    expect(s.sigmaY).toBeLessThan(0.05);
    // The blur reads low on a damaged photo (1.5 px reads 0.81 here; docs/ALGORITHM.md, "Old photos:
    // one operator"), but it must read a blur, so that the operator deblurs.
    expect(s.blurStd).toBeGreaterThan(0.5);
    expect(s.blurStd).toBeLessThan(2.5);
    expect(s.damaged).toBeGreaterThan(0.005);
    expect(s.operator).toMatch(/^blur\(gaussian std [\d.]+, \d+x\d+\) then mask/);
  });

  it('says each estimate on stderr without --json', () => {
    const r = runCli(['restore', '--task', 'old-photo', '--input', old, '--output', join(dir, 'restored2.png'), ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: detected damage on \d+\.\d% of the pixels/m);
    expect(r.stderr).toMatch(/^note: estimated noise level sigma_y = 0\.\d{3}$/m);
    expect(r.stderr).toMatch(/^note: estimated blur std = \d+\.\d\d px$/m);
  });

  it('uses what it is told as given: a mask, sigma_y, a kernel, colour restoration', () => {
    const r = runCli([
      'restore',
      '--task',
      'old-photo',
      '--mask',
      mask,
      '--sigma-y',
      '0.03',
      '--kernel',
      'gaussian:1.5',
      '--colorize',
      '--input',
      old,
      '--output',
      join(dir, 'restored3.png'),
      '--json',
      ...FAST,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ sigmaY: 0.03, sigmaYEstimated: false, blurStd: 1.5, kernelEstimated: false, damageDetected: false, colorize: true });
    expect(s.operator).toBe(`blur(gaussian std 1.5, 11x11) then luma then mask (${(100 * (1 - s.damaged)).toFixed(1)}% observed)`);
  });

  it('--kernel none and --mask none leave the blur and the mask out', () => {
    const r = runCli(['restore', '--task', 'old-photo', '--mask', 'none', '--kernel', 'none', '--sigma-y', '0.03', '--input', old, '--output', join(dir, 'restored4.png'), '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).operator).toBe('identity');
  });

  it('--colorize belongs to old-photo, and --sensitivity must be in [0, 1]', () => {
    const c = runCli(['restore', '--task', 'denoise', '--sigma-y', '0.02', '--colorize', '--input', old, '--output', join(dir, 'x.png'), ...FAST]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^error: --colorize is for --task old-photo/);
    const s = runCli(['restore', '--task', 'old-photo', '--sensitivity', '2', '--input', old, '--output', join(dir, 'x.png'), ...FAST]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^error: --sensitivity 2: must be a number in \[0, 1\]$/);
  });
});
