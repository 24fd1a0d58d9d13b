/**
 * vmlmap batch end to end on the tiny test model: a folder with a damaged photo (the others
 * restored, the failure summarised, status 3), a second run that skips what is done, the refusal
 * to write into the photos' folder without a suffix, --format png, and files given as a list.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTags } from '../engine/exif-reader.js';
import { FAST, ROOT, runCli } from './run-cli.js';

const CLI = join(ROOT, 'out', 'cli', 'cli', 'main.js');

const dir = mkdtempSync(join(tmpdir(), 'vmlmap-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const photos = join(dir, 'photos');
const TASK = ['--task', 'denoise', '--sigma-y', '0.02'];
const batch = (...args: string[]) => runCli(['batch', ...TASK, ...FAST, ...args]);

async function photo(path: string, seed: number): Promise<void> {
  const px = Buffer.from(Array.from({ length: 24 * 16 * 3 }, (_, i) => (i * (seed + 7) * 31) % 256));
  const s = sharp(px, { raw: { width: 24, height: 16, channels: 3 } }).withExif({ IFD0: { Make: `Camera ${seed}` } });
  await (path.endsWith('.png') ? s.png() : s.jpeg({ quality: 95 })).toFile(path);
}

beforeAll(async () => {
  mkdirSync(photos);
  await photo(join(photos, 'a.jpg'), 1);
  await photo(join(photos, 'b.png'), 2);
  // a JPEG's first bytes and then nothing: damaged
  const good = readFileSync(join(photos, 'a.jpg'));
  writeFileSync(join(photos, 'c.jpg'), good.subarray(0, 40));
  writeFileSync(join(photos, 'notes.txt'), 'not a photo');
});

const listing = (folder: string): string[] => readdirSync(folder).sort();

describe('vmlmap batch', () => {
  const out = join(dir, 'restored');

  it('restores the photos of a folder, goes on past a damaged one and lists it with the reason (status 3)', async () => {
    const r = batch('--input', photos, '--output', out);
    expect(r.code, r.stderr).toBe(3);
    expect(listing(out)).toEqual(['a.jpg', 'b.png']); // nothing for c.jpg, no temporary files, no notes.txt
    expect(r.stdout).toContain('2 restored, 0 skipped (already done), 1 failed, of 3');
    expect(r.stdout).toMatch(/^failed: c\.jpg: cannot read image .*c\.jpg: .+$/m);
    expect(r.stderr).toMatch(/^\[1\/3\] a\.jpg \.\.\. done in \d+\.\d s$/m);
    expect(r.stderr).toMatch(/^\[3\/3\] c\.jpg \.\.\. failed: /m);
    // each photo keeps its own metadata, and its format
    expect(readTags((await sharp(join(out, 'a.jpg')).metadata()).exif!).get('ifd0.271')).toBe('Camera 1');
    expect((await sharp(join(out, 'b.png')).metadata()).format).toBe('png');
  });

  it('run again, skips the photos already done without touching them (--json gives each status)', () => {
    const before = ['a.jpg', 'b.png'].map((n) => ({ bytes: readFileSync(join(out, n)), mtime: statSync(join(out, n)).mtimeMs }));
    const r = batch('--input', photos, '--output', out, '--json');
    expect(r.code, r.stderr).toBe(3);
    const summary = JSON.parse(r.stdout);
    expect([summary.done, summary.skipped, summary.failed, summary.cancelled]).toEqual([0, 2, 1, false]);
    expect(summary.files.map((f: { status: string }) => f.status)).toEqual(['skipped', 'skipped', 'failed']);
    expect(summary.files[2].reason).toMatch(/cannot read image .*c\.jpg/);
    expect(r.stderr).toContain('[1/3] a.jpg ... skipped');
    ['a.jpg', 'b.png'].forEach((n, i) => {
      expect(readFileSync(join(out, n)).equals(before[i]!.bytes)).toBe(true);
      expect(statSync(join(out, n)).mtimeMs).toBe(before[i]!.mtime);
    });
  });

  it('refuses to write into the photos folder without a suffix; with one, names the outputs by it', () => {
    const before = listing(photos);
    const r = batch('--input', photos, '--output', photos);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: --output .* is the folder of .*: give --suffix/);
    expect(listing(photos)).toEqual(before);

    const ok = batch('--input', photos, '--output', photos, '--suffix', '-restored');
    expect(ok.code, ok.stderr).toBe(3);
    expect(listing(photos)).toEqual(['a-restored.jpg', 'a.jpg', 'b-restored.png', 'b.png', 'c.jpg', 'notes.txt']);
    // and a second run takes the outputs for outputs, not for photos to restore
    const again = batch('--input', photos, '--output', photos, '--suffix', '-restored', '--json');
    expect(JSON.parse(again.stdout).total).toBe(3);
  });

  it('--format png writes PNGs from JPEGs', async () => {
    const pngs = join(dir, 'pngs');
    const r = batch('--input', join(photos, 'a.jpg'), '--output', pngs, '--format', 'png');
    expect(r.code, r.stderr).toBe(0);
    expect(listing(pngs)).toEqual(['a.png']);
    expect((await sharp(join(pngs, 'a.png')).metadata()).format).toBe('png');
    // With everything done no model is loaded: a missing model folder does not matter.
    const again = runCli(['batch', ...TASK, '--model', join(dir, 'no-model'), '--input', join(photos, 'a.jpg'), '--output', pngs, '--format', 'png']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 restored, 1 skipped');
  });

  it('takes files given as a list, and only those', () => {
    const listed = join(dir, 'listed');
    const r = batch('--input', join(photos, 'b.png'), join(photos, 'a.jpg'), '--output', listed, '--suffix', '_r', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(listing(listed)).toEqual(['a_r.jpg', 'b_r.png']);
    const summary = JSON.parse(r.stdout);
    expect(summary.files.map((f: { input: string; status: string }) => [f.input.split('/').pop(), f.status])).toEqual([
      ['b.png', 'done'],
      ['a.jpg', 'done'],
    ]);
    expect(summary.files[0].result.nfe).toBeGreaterThan(0);
  });

  it('refuses a FIFO given as a file, and a stray word, before any work', () => {
    const stray = batch('--input', join(photos, 'a.jpg'), '--output', join(dir, 'none'), 'extra');
    expect([stray.code, stray.stderr]).toEqual([1, 'error: unexpected argument "extra" (the photos to restore follow --input)']);
    const dup = batch('--input', join(photos, 'a.jpg'), join(photos, 'a.jpg'), '--output', join(dir, 'none'));
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/would both be written to/);
    if (process.platform === 'win32') return;
    const fifo = join(dir, 'pipe.jpg');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) return;
    const r = batch('--input', join(photos, 'a.jpg'), fifo, '--output', join(dir, 'none'));
    expect([r.code, r.stderr]).toEqual([1, `error: cannot read image ${fifo}: it is a named pipe (FIFO), not a file`]);
    expect(() => statSync(join(dir, 'none'))).toThrow();
  });

  it('Ctrl-C stops between steps: status 130, the finished photo kept, no partial output; a rerun finishes the rest', async () => {
    const three = join(dir, 'three');
    mkdirSync(three);
    for (const n of [1, 2, 3]) await photo(join(three, `${n}.jpg`), n);
    const target = join(dir, 'three-out');
    // 400 steps: a few seconds a photo, time to be interrupted in the second one.
    const args = ['batch', ...TASK, ...FAST.filter((a, i) => a !== '--steps' && FAST[i - 1] !== '--steps'), '--steps', '400', '--input', three, '--output', target];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('[2/3] 2.jpg ... ') && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/\[1\/3\] 1\.jpg \.\.\. done/);
    expect(stderr).toContain('cancelled; the photos restored so far are kept');
    expect(stdout).toContain('1 restored, 0 skipped (already done), 0 failed, 2 not done (cancelled), of 3');
    expect(listing(target)).toEqual(['1.jpg']);
    const rest = batch('--input', three, '--output', target);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain('2 restored, 1 skipped');
    expect(listing(target)).toEqual(['1.jpg', '2.jpg', '3.jpg']);
  }, 60_000);
});
