/**
 * Model folders with shared external weights and an fp16 variant (docs/MODEL_CONTRACT.md), on the
 * real onnxruntime CPU provider: tests/.models/tiny-shared is the tiny test UNet laid out as the
 * bundled model is (model-training/export.py share_weights: eps.onnx and eps_vjp.onnx read weights.bin,
 * eps.fp16.onnx and eps_vjp.fp16.onnx read weights.fp16.bin). Checked: the manifest parses and every
 * file's sha256 is verified (a damaged weights file is refused with a clear message); folders
 * without these fields (tests/.models/tiny) keep working; the precision choice (the CPU runs fp32
 * unless fp16 is forced; GPU providers take the fp16 variant); the VJP's scaling of v.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxDenoiser, wantedPrecision } from '../../engine/model/denoiser.js';
import { modelFiles, readManifest, verifyChecksums } from '../../engine/model/manifest.js';
import { GPU_PROVIDERS } from '../../engine/model/providers.js';
import { randn, relErr } from './helpers.js';

const MODELS = join(import.meta.dirname, '..', '.models');
const SHARED = join(MODELS, 'tiny-shared');
const TINY = join(MODELS, 'tiny');
const scratch = mkdtempSync(join(tmpdir(), 'vmlmap-variants-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a model folder whose manifest (parsed JSON) and files the caller may change. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest's JSON, edited field by field
function copyOf(dir: string, name: string, edit?: (m: Record<string, any>) => void): string {
  const out = join(scratch, name);
  cpSync(dir, out, { recursive: true });
  if (edit) {
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    edit(m);
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(m));
  }
  return out;
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] ^= 0x01;
  writeFileSync(path, b);
}

describe('manifest with external data and an fp16 variant', () => {
  it('parses, lists every file once and verifies every checksum', async () => {
    const m = readManifest(SHARED);
    const { graphs, variants } = m.manifest;
    expect(graphs.forward.externalData.map((d) => d.file)).toEqual(['weights.bin']);
    expect(graphs.vjp!.externalData).toEqual(graphs.forward.externalData);
    expect(variants?.fp16?.forward.file).toBe('eps.fp16.onnx');
    expect(variants?.fp16?.vjp?.externalData.map((d) => d.file)).toEqual(['weights.fp16.bin']);
    expect(m.fp16?.forwardPath).toBe(join(SHARED, 'eps.fp16.onnx'));
    expect(
      modelFiles(m.manifest)
        .map((f) => f.file)
        .sort(),
    ).toEqual(['eps.fp16.onnx', 'eps.onnx', 'eps_vjp.fp16.onnx', 'eps_vjp.onnx', 'weights.bin', 'weights.fp16.bin'].sort());
    await verifyChecksums(m);
  });

  it('refuses a damaged weights file, with the file named, on load', async () => {
    for (const file of ['weights.bin', 'weights.fp16.bin']) {
      const dir = copyOf(SHARED, `bad-${file}`);
      flipByte(join(dir, file), 5000);
      await expect(verifyChecksums(readManifest(dir))).rejects.toThrow(new RegExp(`${file.replace('.', '\\.')} has sha256 [0-9a-f]{12}\\.\\.\\., the manifest says`));
      await expect(OnnxDenoiser.load(dir, { provider: 'cpu' })).rejects.toThrow(/damaged or replaced file/);
    }
  });

  it('refuses missing files, paths outside the folder and contradictory checksums', () => {
    const missing = copyOf(SHARED, 'missing');
    rmSync(join(missing, 'weights.fp16.bin'));
    expect(() => readManifest(missing)).toThrow(/weights\.fp16\.bin \(manifest\.json's variants\.fp16\.forward\.externalData\[0\]\.file\) is missing$/);
    const outside = copyOf(SHARED, 'outside', (m) => (m.graphs.forward.externalData[0].file = '../tiny/eps.onnx'));
    expect(() => readManifest(outside)).toThrow(/graphs\.forward\.externalData\[0\]\.file must be a file inside the model folder/);
    const twoSums = copyOf(SHARED, 'two-sums', (m) => (m.graphs.vjp.externalData[0].sha256 = '0'.repeat(64)));
    expect(() => readManifest(twoSums)).toThrow(/weights\.bin two different sha256/);
    const noSum = copyOf(SHARED, 'no-sum', (m) => delete m.variants.fp16.forward.externalData[0].sha256);
    expect(() => readManifest(noSum)).toThrow(/variants\.fp16\.forward\.externalData\[0\]\.sha256 is missing/);
    const dropsVjp = copyOf(SHARED, 'drops-vjp', (m) => delete m.variants.fp16.vjp);
    expect(() => readManifest(dropsVjp)).toThrow(/variants\.fp16 lacks a vjp graph/);
  });

  it("the fp16 variant's names are checked when it is used; a broken fp16 graph falls back to fp32 with the reason", async () => {
    const renamed = copyOf(SHARED, 'fp16-output', (m) => (m.variants.fp16.forward.output = 'noise'));
    // 'auto' on the CPU runs fp32: the variant is never opened, and the model loads.
    const d = await OnnxDenoiser.load(renamed, { provider: 'cpu', trustChecksums: true });
    expect(d.precision).toBe('fp32');
    await d.release();
    await expect(OnnxDenoiser.load(renamed, { provider: 'cpu', precision: 'fp16', trustChecksums: true })).rejects.toThrow(
      /: eps\.fp16\.onnx has outputs \[eps\], but manifest\.json's variants\.fp16\.forward\.output names noise$/,
    );
    const garbage = copyOf(SHARED, 'fp16-garbage');
    writeFileSync(join(garbage, 'eps.fp16.onnx'), 'not a graph');
    const g = await OnnxDenoiser.load(garbage, { provider: 'cpu', precision: 'fp16', trustChecksums: true });
    expect([g.precision, g.precisionFallback]).toEqual(['fp32', 'the fp16 graphs could not start on cpu (Protobuf parsing failed.): running fp32']);
    await g.release();
  });

  it('a folder without these fields (the tiny test model) still loads, as fp32', async () => {
    const m = readManifest(TINY);
    expect(m.manifest.variants).toBeUndefined();
    expect(m.manifest.graphs.forward.externalData).toEqual([]);
    await verifyChecksums(m);
    const d = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    expect(d.precision).toBe('fp32');
    expect(d.precisionFallback).toBeUndefined();
    await d.release();
    const forced = await OnnxDenoiser.load(TINY, { provider: 'cpu', precision: 'fp16' });
    expect(forced.precision).toBe('fp32');
    expect(forced.precisionFallback).toMatch(/no fp16 variant/);
    await forced.release();
  });
});

describe('precision', () => {
  it('auto: fp16 on every GPU provider when the model has the variant, fp32 on the CPU', () => {
    for (const p of GPU_PROVIDERS) {
      expect(wantedPrecision('auto', p, true).precision).toBe('fp16');
      expect(wantedPrecision('auto', p, false).precision).toBe('fp32');
      expect(wantedPrecision('fp32', p, true).precision).toBe('fp32');
    }
    expect(wantedPrecision('auto', 'cpu', true)).toMatchObject({ precision: 'fp32', why: 'the cpu provider always runs fp32' });
    expect(wantedPrecision('fp16', 'cpu', true).precision).toBe('fp16');
    expect(wantedPrecision('fp16', 'cpu', false)).toMatchObject({ precision: 'fp32', fallback: expect.stringMatching(/no fp16 variant/) });
  });

  it('on the CPU the shared-weights model runs fp32 by default, fp16 when forced, and the two agree', async () => {
    const fp32 = await OnnxDenoiser.load(SHARED, { provider: 'cpu' });
    expect([fp32.provider, fp32.precision]).toEqual(['cpu', 'fp32']);
    expect(fp32.graphs.paths.forwardPath).toBe(join(SHARED, 'eps.onnx'));
    const fp16 = await OnnxDenoiser.load(SHARED, { provider: 'cpu', precision: 'fp16', trustChecksums: true });
    expect([fp16.provider, fp16.precision, fp16.precisionFallback]).toEqual(['cpu', 'fp16', undefined]);
    expect(fp16.graphs.paths.vjpPath).toBe(join(SHARED, 'eps_vjp.fp16.onnx'));
    const shape = { c: 3, h: 16, w: 24 };
    const n = 3 * 16 * 24;
    const z = Float64Array.from(randn(n, 3), (v, i) => 0.5 + 0.2 * Math.sin(i / 9) + 0.1 * v);
    const v = randn(n, 4);
    for (const sigma of [0.05, 0.4]) {
      const d = relErr(await fp16.denoise(z, shape, sigma), await fp32.denoise(z, shape, sigma));
      const j = relErr(await fp16.jtv(z, shape, sigma, v), await fp32.jtv(z, shape, sigma, v));
      console.log(`tiny-shared on the CPU, sigma ${sigma}: fp16 vs fp32 D ${d.toExponential(2)}, J^T v ${j.toExponential(2)}`);
      expect(d).toBeLessThan(2e-4);
      expect(j).toBeLessThan(2e-4);
    }
    // The same weights as the self-contained tiny model: identical fp32 results.
    const tiny = await OnnxDenoiser.load(TINY, { provider: 'cpu' });
    expect(Array.from(await fp32.denoise(z, shape, 0.2))).toEqual(Array.from(await tiny.denoise(z, shape, 0.2)));
    for (const m of [fp32, fp16, tiny]) await m.release();
  });

  it('J^T v is linear in v however large v is: v of 1e6 does not overflow the fp16 graph', async () => {
    const fp32 = await OnnxDenoiser.load(SHARED, { provider: 'cpu', trustChecksums: true });
    const fp16 = await OnnxDenoiser.load(SHARED, { provider: 'cpu', precision: 'fp16', trustChecksums: true });
    const shape = { c: 3, h: 8, w: 8 };
    const z = Float64Array.from(randn(192, 5), (v) => 0.5 + 0.1 * v);
    const v = randn(192, 6);
    const big = v.map((x) => 1e6 * x);
    const ref = await fp32.jtv(z, shape, 0.1, v);
    const a = await fp32.jtv(z, shape, 0.1, big);
    expect(
      relErr(
        a.map((x) => x / 1e6),
        ref,
      ),
    ).toBeLessThan(1e-6);
    const b = await fp16.jtv(z, shape, 0.1, big);
    expect(b.every(Number.isFinite)).toBe(true);
    expect(
      relErr(
        b.map((x) => x / 1e6),
        ref,
      ),
    ).toBeLessThan(2e-3);
    // v = 0 gives 0, not NaN
    expect(Array.from(await fp16.jtv(z, shape, 0.1, new Float64Array(192)))).toEqual(new Array(192).fill(0));
    await fp32.release();
    await fp16.release();
  });
});
