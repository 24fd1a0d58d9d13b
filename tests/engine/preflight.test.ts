/**
 * What is refused before any work: non-regular files (read without blocking), photos whose decode
 * would not fit in memory, outputs that cannot be written, and jobs whose estimated time is above
 * the limit; and the estimate's call counts are the ones a solve really makes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage, readImage, writeImage } from '../../engine/photo/image.js';
import { outputTarget } from '../../engine/photo/output-path.js';
import { readRegularFile, readRegularFileSync } from '../../engine/photo/regular-file.js';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { preflight, restore } from '../../engine/job/restore.js';
import { SOLVERS, type TaskSpec } from '../../engine/tasks.js';
import { callsPerSolve, estimateJobTime, JobTooLongError } from '../../engine/job/time-estimate.js';
import { UserError } from '../../engine/types.js';

const TINY = join(import.meta.dirname, '..', '.models', 'tiny');
let dir: string;
let model: OnnxDenoiser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-preflight-'));
  model = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
});
afterAll(async () => model?.release());

const message = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('reading only regular files', () => {
  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    expect(await message(readRegularFile(fifo, 'image'))).toBe(`cannot read image ${fifo}: it is a named pipe (FIFO), not a file`);
    expect(() => readRegularFileSync(fifo, 'kernel file', 100)).toThrow(/named pipe/);
  });

  it('refuses devices, folders and link loops with one line each', async () => {
    expect(await message(readRegularFile('/dev/zero', 'image'))).toMatch(/it is a device, not a file$/);
    mkdirSync(join(dir, 'folder'));
    expect(await message(readRegularFile(join(dir, 'folder'), 'image'))).toMatch(/it is a folder, not a file$/);
    symlinkSync('loop2', join(dir, 'loop1'));
    symlinkSync('loop1', join(dir, 'loop2'));
    expect(await message(readRegularFile(join(dir, 'loop1'), 'mask'))).toMatch(/^cannot read mask .*loop1: too many symbolic links/);
  });

  it('refuses a file above the size limit before reading it, and reads one below it whole', async () => {
    const f = join(dir, 'big.bin');
    writeFileSync(f, Buffer.alloc(5000, 7));
    expect(await message(readRegularFile(f, 'image', 4096))).toMatch(/: the file is 5 KB, above the 4 KB limit$/);
    expect((await readRegularFile(f, 'image', 5000)).equals(readFileSync(f))).toBe(true);
  });
});

describe('decoded memory', () => {
  it('refuses a photo whose decode would not fit, naming the memory it needs, before decoding', async () => {
    const f = join(dir, 'grey-2000.png');
    await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#777' } })
      .png()
      .toFile(f);
    // 4 MP x 4 channels x (2 x 1 + 8) bytes = 160 MB: refused with 100 MB free, opened with 1 GB.
    expect(await message(openImage(f, { availableMemory: 100 * 2 ** 20 }))).toBe(`image ${f} is 2000x2000: decoding it needs about 153 MB, but only 100 MB of memory are free`);
    const opened = await openImage(f, { availableMemory: 2 ** 30 });
    expect([opened.width, opened.height]).toEqual([2000, 2000]);
    expect((await opened.decode()).image.data.length).toBe(3 * 2000 * 2000);
  });
});

describe('outputs checked before work', () => {
  it('writes through a symbolic link: the target is replaced, the link kept', async () => {
    const target = join(dir, 'target.png');
    writeFileSync(target, 'old');
    const link = join(dir, 'link.png');
    symlinkSync(target, link);
    await writeImage(link, { c: 3, h: 2, w: 2, data: new Float64Array(12).fill(0.5) });
    expect((await readImage(target)).width).toBe(2);
    expect(execFileSync('readlink', [link], { encoding: 'utf8' }).trim()).toBe(target);
  });

  it('refuses a link to a missing file, a folder, a missing folder, and an input reached through a link', async () => {
    symlinkSync(join(dir, 'nothing.png'), join(dir, 'dangling.png'));
    expect(await message(outputTarget(join(dir, 'dangling.png'), 'image'))).toMatch(/it is a symbolic link to a missing file$/);
    expect(await message(outputTarget(join(dir, 'folder'), 'image'))).toMatch(/it is a folder$/);
    expect(await message(outputTarget(join(dir, 'no', 'x.png'), 'image'))).toMatch(/the folder .*no does not exist$/);
    const input = join(dir, 'in.png');
    writeFileSync(input, 'x');
    symlinkSync(input, join(dir, 'in-link.png'));
    expect(await message(outputTarget(join(dir, 'in-link.png'), 'image', [input]))).toMatch(/^refusing to overwrite the input/);
  });
});

describe('the time estimate', () => {
  // Not denoising: its presets start at the stationary z = y, where VML-MAP reuses its one call
  // (the estimate is then an upper bound).
  const spec: TaskSpec = { task: 'deblur', kernel: { type: 'gaussian', std: 1 }, sigmaY: 0.01 };
  it('counts the network calls every solver really makes', async () => {
    const image = { c: 3, h: 16, w: 16, data: new Float64Array(3 * 256).fill(0.4) };
    for (const solver of SOLVERS) {
      const pf = await preflight(model, { shape: image, spec, solver: { solver, preset: 'fast', steps: 3, seed: 0 } });
      const calls = callsPerSolve(pf.settings);
      const res = await restore(model, { image, spec, solver: { solver, preset: 'fast', steps: 3, seed: 0 } });
      expect({ solver, nfe: res.stats.nfe, vjps: res.stats.vjps }).toEqual({ solver, nfe: calls.forwards, vjps: calls.vjps });
    }
  });

  it('grows with the pixels solved, and refuses a job above the limit with the estimate', async () => {
    const solver = { solver: 'vml-fp' as const, preset: 'balanced' as const, seed: 0 };
    const small = await preflight(model, { shape: { c: 3, h: 64, w: 64 }, spec, solver, maxSeconds: 1e9 });
    const large = await preflight(model, { shape: { c: 3, h: 256, w: 256 }, spec, solver, maxSeconds: 1e9 });
    expect(small.estimate!.seconds).toBeGreaterThan(0);
    expect(large.estimate!.seconds / small.estimate!.seconds).toBeGreaterThan(8);
    const err = await preflight(model, { shape: { c: 3, h: 256, w: 256 }, spec, solver, maxSeconds: large.estimate!.seconds / 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobTooLongError);
    expect((err as Error).message).toMatch(/^this job would take about \d+ s \(\d+ network calls on each of 1 solve, 0\.1 MP solved\), above the limit of \d+ s$/);
  });

  it('leaves the denoiser counters as they were', async () => {
    const before = { ...model.counters };
    const { settings } = await preflight(model, { shape: { c: 3, h: 8, w: 8 }, spec, solver: { solver: 'dps', preset: 'fast', seed: 0 } });
    await estimateJobTime(model, spec, { mode: 'whole', solves: 1, solvedPixels: 1e6, memory: {} as never }, settings);
    expect(model.counters.nfe).toBe(before.nfe);
    expect(model.counters.vjps).toBe(before.vjps);
  });
});
