/**
 * The CLI end to end on the test models: restore, degrade and eval, and every bad input of the
 * issue gives its one-line message and a non-zero exit while the input stays byte-identical.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'out', 'cli', 'cli', 'main.js');
const TINY = join(ROOT, 'tests', '.models', 'tiny');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let photo: string;

async function gradientPng(path: string, w: number, h: number): Promise<void> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px[i] = Math.round((255 * x) / (w - 1));
      px[i + 1] = Math.round((255 * y) / (h - 1));
      px[i + 2] = 128 + Math.round(60 * Math.sin(x / 3));
    }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-cli-'));
  photo = join(dir, 'photo.png');
  await gradientPng(photo, 24, 16);
});

const FAST = ['--model', TINY, '--preset', 'fast', '--steps', '3', '--provider', 'cpu'];

describe('restore, degrade, eval', () => {
  it('degrades for inpainting (16-bit measurement and a mask) and restores it, printing JSON', async () => {
    const meas = join(dir, 'meas.png');
    const d = run(['degrade', '--task', 'inpaint', '--input', photo, '--output', meas, '--json']);
    expect(d.code, d.stderr).toBe(0);
    const info = JSON.parse(d.stdout);
    expect((await sharp(meas).metadata()).depth).toBe('ushort');
    const maskMeta = await sharp(info.mask).metadata();
    expect([maskMeta.width, maskMeta.height]).toEqual([24, 16]);
    const out = join(dir, 'restored.png');
    const r = run(['restore', '--task', 'inpaint', '--input', meas, '--mask', info.mask, '--output', out, '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.output).toBe(out);
    expect(stats.nfe).toBeGreaterThan(0);
    expect(stats.provider).toBe('cpu');
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([24, 16]);
  });

  it('super-resolves x2 to twice the size, with every solver', async () => {
    for (const solver of ['vml-map', 'dps', 'diffpir', 'ddnm']) {
      const out = join(dir, `sr-${solver}.png`);
      const r = run(['restore', '--task', 'sr', '--scale', '2', '--sr-kernel', 'box', '--input', photo, '--output', out, '--solver', solver, '--json', ...FAST]);
      expect(r.code, `${solver}: ${r.stderr}`).toBe(0);
      const meta = await sharp(out).metadata();
      expect([meta.width, meta.height]).toEqual([48, 32]);
    }
  });

  it('evaluates a folder and prints per-image and mean PSNR/SSIM', async () => {
    const folder = join(dir, 'evalset');
    mkdirSync(folder);
    await gradientPng(join(folder, 'a.png'), 32, 24);
    await gradientPng(join(folder, 'b.png'), 24, 32);
    const r = run(['eval', '--task', 'deblur', '--kernel', 'gaussian:1', '--sigma-y', '0.01', '--input', folder, '--json', ...FAST]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.rows).toHaveLength(2);
    for (const row of res.rows) {
      expect(Number.isFinite(row.psnr)).toBe(true);
      expect(row.ssim).toBeGreaterThan(-1);
      expect(row.ssim).toBeLessThanOrEqual(1);
    }
    expect(res.average.psnr).toBeCloseTo((res.rows[0].psnr + res.rows[1].psnr) / 2, 6);
    const table = run(['eval', '--task', 'denoise', '--sigma-y', '0.05', '--input', folder, ...FAST]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\| \*\*mean\*\* \|/);
  });
});

describe('bad input: a one-line reason, a non-zero exit, the input untouched', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['unreadable image', () => ['restore', '--task', 'denoise', '--input', join(dir, 'missing.png'), '--output', join(dir, 'o1.png'), ...FAST], /cannot read image/],
    [
      'corrupt image',
      () => {
        writeFileSync(join(dir, 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not a png at all'));
        return ['restore', '--task', 'denoise', '--input', join(dir, 'corrupt.png'), '--output', join(dir, 'o2.png'), ...FAST];
      },
      /cannot read image/,
    ],
    [
      'mask of the wrong size',
      () => ['restore', '--task', 'inpaint', '--input', photo, '--mask', join(dir, 'smallmask.png'), '--output', join(dir, 'o3.png'), ...FAST],
      /mask is 8x8 but the image is 24x16/,
    ],
    ['unknown task', () => ['restore', '--task', 'sharpen', '--input', photo, '--output', join(dir, 'o4.png'), ...FAST], /unknown task "sharpen"/],
    [
      'kernel that does not sum to a positive number',
      () => {
        writeFileSync(join(dir, 'k.txt'), '1 -1\n-1 1\n');
        return ['restore', '--task', 'deblur', '--kernel', `file:${join(dir, 'k.txt')}`, '--input', photo, '--output', join(dir, 'o5.png'), ...FAST];
      },
      /sum/,
    ],
    [
      'model whose checksums do not match',
      () => {
        const bad = join(dir, 'badmodel');
        cpSync(TINY, bad, { recursive: true });
        const f = join(bad, 'eps.onnx');
        const bytes = readFileSync(f);
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(f, bytes);
        return ['restore', '--task', 'denoise', '--input', photo, '--output', join(dir, 'o6.png'), '--model', bad, '--steps', '2'];
      },
      /sha256/,
    ],
    [
      'model whose manifest is broken',
      () => {
        const bad = join(dir, 'badmanifest');
        cpSync(TINY, bad, { recursive: true });
        writeFileSync(join(bad, 'manifest.json'), '{"format": "vmlmap-model"');
        return ['restore', '--task', 'denoise', '--input', photo, '--output', join(dir, 'o7.png'), '--model', bad, '--steps', '2'];
      },
      /manifest\.json is not valid JSON/,
    ],
    ['output over the input', () => ['restore', '--task', 'denoise', '--input', photo, '--output', photo, ...FAST], /refusing to overwrite the input/],
  ];

  beforeAll(async () => {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toFile(join(dir, 'smallmask.png'));
  });

  for (const [name, args, message] of cases) {
    it(name, () => {
      const before = readFileSync(photo);
      const list = readdirSync(dir).sort();
      const r = run(args());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(readFileSync(photo).equals(before)).toBe(true);
      // No output file, and no temporary file, was left behind.
      expect(readdirSync(dir).filter((f) => !list.includes(f) && /^o\d|\.tmp/.test(f))).toEqual([]);
    });
  }

  it('a result with NaN or Inf is refused and nothing is written', () => {
    const nanModel = join(ROOT, 'tests', '.models', 'nan');
    const out = join(dir, 'nan-out.png');
    copyFileSync(photo, join(dir, 'photo-copy.png'));
    const r = run(['restore', '--task', 'denoise', '--input', join(dir, 'photo-copy.png'), '--output', out, '--model', nanModel, '--steps', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NaN or Inf/);
    expect(readdirSync(dir)).not.toContain('nan-out.png');
  });
});
