/**
 * The GPU code path on WebGPU: the model's forward and VJP graphs on onnxruntime's WebGPU provider
 * agree with the CPU provider to 1e-3 relative on a 64x64 input, and so does the engine's denoiser
 * on top of them. CI runs this on Mesa's software Vulkan driver (lavapipe, Mesa 25 from
 * bookworm-backports, installed by .ci/run). The default model is used when it exists
 * (resources/models/default), else the tiny test model. The WebGPU tests skip, with the reason
 * logged, only when no WebGPU adapter can be created. The fp16 variant (default model, or
 * tests/.models/tiny-shared when the default model has none) on WebGPU agrees with the fp32 graphs
 * on the CPU to FP16_TOL, and 'auto' picks it there. Also the provider order: 'auto' tries only
 * the providers installed here (onnxruntime-node's backend list and the provider libraries beside
 * its binding), and an explicit provider that is absent falls back to the CPU with the reason kept.
 */
import { relErr } from './helpers.js';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxDenoiser } from '../../engine/model/denoiser.js';
import { readManifest } from '../../engine/model/manifest.js';
import { autoCandidates, bindingDir, createSession, presenceHere, providerLibrary, providerOrder, providerPresence } from '../../engine/model/providers.js';
import { Rng } from '../../engine/solvers/common.js';
import { probeDevices } from '../../service/probe.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEFAULT = join(ROOT, 'resources', 'models', 'default');
const TINY = join(ROOT, 'tests', '.models', 'tiny');
const MODEL = existsSync(join(DEFAULT, 'manifest.json')) ? DEFAULT : TINY;
const F16_MODEL = readManifest(MODEL).fp16 ? MODEL : join(ROOT, 'tests', '.models', 'tiny-shared');
/**
 * fp16 variant on WebGPU vs fp32 graphs on the CPU, relative L2 difference. Measured on the default
 * model at 140,608 samples (lavapipe, 64x64): eps 2.9e-3 and 5.2e-3, VJP 3.0e-3 and 2.3e-3 (t = 50,
 * 500), about 20 times the fp16 graphs' difference on the CPU provider (1.4e-4); D 3.8e-4 and 1.8e-3,
 * J^T v 1.7e-3 and 2.5e-2 at sigma 0.02 and 0.2. J^T v = v - s sqrt(abar) vjp nearly cancels at
 * sigma 0.2 (|J^T v| / |v| = 0.09 then), which magnifies the VJP's error in J^T v's own relative
 * error, and the better the denoiser the more it cancels: the model at 1,078,368 samples gave 6.0e-2
 * there with the VJP graph itself at 3.1e-3. So J^T v's error is held to the scale of the terms that
 * cancel, |v| (the J^T v row of the log gives both). What this costs in restoration PSNR is measured
 * by bench/studies/fp16-check.ts (docs/MODEL.md).
 */
const FP16_TOL = { graph: 1e-2, denoise: 5e-3, jtvOfV: 1e-2 };
const norm = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
};

let webgpuError: string | undefined;
let gpu: { fwd: ort.InferenceSession; vjp?: ort.InferenceSession } | undefined;
let cpu: { fwd: ort.InferenceSession; vjp?: ort.InferenceSession } | undefined;
const model = readManifest(MODEL);

beforeAll(async () => {
  try {
    const fwd = (await createSession(model.forwardPath, ['webgpu'])).session;
    const vjp = model.vjpPath ? (await createSession(model.vjpPath, ['webgpu'])).session : undefined;
    gpu = { fwd, vjp };
  } catch (e) {
    webgpuError = String((e as Error).message ?? e).split('\n')[0];
    console.warn(`WebGPU tests SKIPPED: no WebGPU adapter could be created: ${webgpuError}`);
    return;
  }
  cpu = {
    fwd: (await createSession(model.forwardPath, ['cpu'])).session,
    vjp: model.vjpPath ? (await createSession(model.vjpPath, ['cpu'])).session : undefined,
  };
  console.log(`WebGPU tests on ${MODEL === DEFAULT ? 'the default model' : 'the tiny test model (no default model exported yet)'}: ${MODEL}`);
}, 600_000);

describe('WebGPU agrees with the CPU', () => {
  const N = 64;
  const m = model.manifest;
  const rng = new Rng(21);
  const dims = [1, m.channels, N, N];
  // x_t at a mid noise level: an image-like signal plus noise, in the model's [-1, 1] range.
  const x = Float32Array.from({ length: m.channels * N * N }, (_, i) => 0.6 * Math.sin(i / 37) + 0.5 * rng.normal());
  const v = Float32Array.from({ length: m.channels * N * N }, () => rng.normal());

  for (const t of [50, 500]) {
    it(`forward graph at t = ${t}, 64x64`, async (ctx) => {
      if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
      const g = m.graphs.forward;
      const feeds = { [g.inputs.x]: new ort.Tensor('float32', x, dims), [g.inputs.t]: new ort.Tensor('float32', Float32Array.of(t), [1]) };
      const a = (await gpu!.fwd.run(feeds))[g.output].data as Float32Array;
      const b = (await cpu!.fwd.run(feeds))[g.output].data as Float32Array;
      const err = relErr(a, b);
      console.log(`forward t=${t}: relative difference WebGPU vs CPU ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-3);
    }, 600_000);

    it(`VJP graph at t = ${t}, 64x64`, async (ctx) => {
      if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
      if (!gpu!.vjp || !m.graphs.vjp) ctx.skip('the model has no VJP graph');
      const g = m.graphs.vjp!;
      const feeds = {
        [g.inputs.x]: new ort.Tensor('float32', x, dims),
        [g.inputs.t]: new ort.Tensor('float32', Float32Array.of(t), [1]),
        [g.inputs.v]: new ort.Tensor('float32', v, dims),
      };
      const a = (await gpu!.vjp!.run(feeds))[g.output].data as Float32Array;
      const b = (await cpu!.vjp!.run(feeds))[g.output].data as Float32Array;
      const err = relErr(a, b);
      console.log(`VJP t=${t}: relative difference WebGPU vs CPU ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-3);
    }, 600_000);
  }

  it('the engine denoiser and its J^T v on WebGPU, 64x64', async (ctx) => {
    if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
    const onGpu = await OnnxDenoiser.load(MODEL, { provider: 'webgpu', precision: 'fp32', trustChecksums: true });
    expect(onGpu.provider).toBe('webgpu');
    const onCpu = await OnnxDenoiser.load(MODEL, { provider: 'cpu', trustChecksums: true });
    const shape = { c: m.channels, h: N, w: N };
    const z = Float64Array.from(x, (val) => 0.5 + 0.25 * val);
    const d = relErr(await onGpu.denoise(z, shape, 0.2), await onCpu.denoise(z, shape, 0.2));
    const vv = Float64Array.from(v);
    const j = relErr(await onGpu.jtv(z, shape, 0.2, vv), await onCpu.jtv(z, shape, 0.2, vv));
    console.log(`engine on WebGPU vs CPU: D ${d.toExponential(2)}, J^T v ${j.toExponential(2)}`);
    expect(d).toBeLessThan(1e-3);
    expect(j).toBeLessThan(1e-3);
    await onGpu.release();
    await onCpu.release();
  }, 600_000);
});

describe('the fp16 variant on WebGPU agrees with fp32 on the CPU', () => {
  const N = 64;
  const f16 = readManifest(F16_MODEL);
  const m = f16.manifest;
  const rng = new Rng(22);
  const dims = [1, m.channels, N, N];
  const x = Float32Array.from({ length: m.channels * N * N }, (_, i) => 0.6 * Math.sin(i / 37) + 0.5 * rng.normal());
  const v = Float32Array.from({ length: m.channels * N * N }, () => rng.normal());

  it('graphs at t = 50 and 500, 64x64', async (ctx) => {
    if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
    const half = m.variants!.fp16!;
    const sessions = {
      gpuFwd: (await createSession(f16.fp16!.forwardPath, ['webgpu'])).session,
      gpuVjp: (await createSession(f16.fp16!.vjpPath!, ['webgpu'])).session,
      cpuFwd: (await createSession(f16.forwardPath, ['cpu'])).session,
      cpuVjp: (await createSession(f16.vjpPath!, ['cpu'])).session,
    };
    for (const t of [50, 500]) {
      const feeds = { x: new ort.Tensor('float32', x, dims), t: new ort.Tensor('float32', Float32Array.of(t), [1]) };
      const a = (await sessions.gpuFwd.run({ [half.forward.inputs.x]: feeds.x, [half.forward.inputs.t]: feeds.t }))[half.forward.output].data as Float32Array;
      const b = (await sessions.cpuFwd.run({ [m.graphs.forward.inputs.x]: feeds.x, [m.graphs.forward.inputs.t]: feeds.t }))[m.graphs.forward.output].data as Float32Array;
      const vt = new ort.Tensor('float32', v, dims);
      const c = (await sessions.gpuVjp.run({ [half.vjp!.inputs.x]: feeds.x, [half.vjp!.inputs.t]: feeds.t, [half.vjp!.inputs.v]: vt }))[half.vjp!.output].data as Float32Array;
      const d = (await sessions.cpuVjp.run({ [m.graphs.vjp!.inputs.x]: feeds.x, [m.graphs.vjp!.inputs.t]: feeds.t, [m.graphs.vjp!.inputs.v]: vt }))[m.graphs.vjp!.output].data as Float32Array;
      const e1 = relErr(a, b);
      const e2 = relErr(c, d);
      console.log(`${F16_MODEL}: fp16 on WebGPU vs fp32 on the CPU at t=${t}: eps ${e1.toExponential(2)}, VJP ${e2.toExponential(2)}`);
      expect(e1).toBeLessThan(FP16_TOL.graph);
      expect(e2).toBeLessThan(FP16_TOL.graph);
    }
    for (const s of Object.values(sessions)) await s.release();
  }, 600_000);

  it("the engine picks fp16 on WebGPU ('auto'); D and J^T v, 64x64", async (ctx) => {
    if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
    const onGpu = await OnnxDenoiser.load(F16_MODEL, { provider: 'webgpu', trustChecksums: true });
    expect([onGpu.provider, onGpu.precision, onGpu.precisionFallback]).toEqual(['webgpu', 'fp16', undefined]);
    const onCpu = await OnnxDenoiser.load(F16_MODEL, { provider: 'cpu', trustChecksums: true });
    expect(onCpu.precision).toBe('fp32');
    const shape = { c: m.channels, h: N, w: N };
    const z = Float64Array.from(x, (val) => 0.5 + 0.25 * val);
    // v as VML-MAP sends it late in a solve: entries up to ~1e6, beyond float16's range
    const vv = Float64Array.from(v, (val) => 3e5 * val);
    for (const sigma of [0.02, 0.2]) {
      const d = relErr(await onGpu.denoise(z, shape, sigma), await onCpu.denoise(z, shape, sigma));
      const jg = await onGpu.jtv(z, shape, sigma, vv);
      const jc = await onCpu.jtv(z, shape, sigma, vv);
      const j = relErr(jg, jc);
      const jOfV = j * (norm(jc) / norm(vv));
      console.log(`engine, fp16 on WebGPU vs fp32 on the CPU, sigma ${sigma}: D ${d.toExponential(2)}, J^T v ${j.toExponential(2)} of |J^T v|, ${jOfV.toExponential(2)} of |v|`);
      expect(d).toBeLessThan(FP16_TOL.denoise);
      expect(jOfV).toBeLessThan(FP16_TOL.jtvOfV);
    }
    await onGpu.release();
    await onCpu.release();
  }, 600_000);
});

describe('the device probe', () => {
  it('times the precision a restoration would use: fp16 on WebGPU, fp32 on the CPU', async (ctx) => {
    if (!gpu) ctx.skip(`no WebGPU adapter: ${webgpuError}`);
    const r = await probeDevices(F16_MODEL, 'linux');
    const by = Object.fromEntries(r.devices.map((d) => [d.provider, d]));
    expect(by.cpu).toMatchObject({ ok: true, precision: 'fp32' });
    expect(by.webgpu).toMatchObject({ ok: true, precision: 'fp16' });
    expect(by.webgpu!.note).toBeUndefined();
    expect(by.cuda).toMatchObject({ ok: false });
    expect(by.cuda!.reason).toBeTruthy();
  }, 600_000);
});

describe('execution providers', () => {
  it("auto tries the platform's GPU providers that are installed, then the CPU", () => {
    const all = new Set(['cpu', 'webgpu', 'cuda', 'dml', 'coreml']);
    expect(providerOrder('auto', 'linux', all)).toEqual(['cuda', 'cpu']);
    expect(providerOrder('auto', 'win32', all)).toEqual(['cuda', 'dml', 'cpu']);
    expect(providerOrder('auto', 'darwin', all)).toEqual(['coreml', 'cpu']);
    // Absent providers are left out: no failed attempt, no note.
    expect(providerOrder('auto', 'linux', new Set(['cpu', 'webgpu']))).toEqual(['cpu']);
    expect(providerOrder('auto', 'win32', new Set(['cpu', 'dml']))).toEqual(['dml', 'cpu']);
    // An explicit choice is tried whatever is installed (load records why it was not used).
    expect(providerOrder('webgpu', 'linux', new Set(['cpu']))).toEqual(['webgpu', 'cpu']);
    expect(providerOrder('cpu', 'linux', all)).toEqual(['cpu']);
  });

  it("presence: bundled backends exist; a non-bundled one only with its library beside onnxruntime's", () => {
    const lib = mkdtempSync(join(tmpdir(), 'vmlmap-ortlib-'));
    const linux = [
      { name: 'cpu', bundled: true },
      { name: 'webgpu', bundled: true },
      { name: 'cuda', bundled: false },
    ];
    const p = providerPresence('linux', linux, lib);
    expect([p.get('cpu')!.present, p.get('webgpu')!.present, p.get('cuda')!.present, p.get('dml')!.present]).toEqual([true, true, false, false]);
    expect(p.get('cuda')!.reason).toBe(`its library is not installed: no libonnxruntime_providers_cuda.so in ${lib}`);
    expect(p.get('dml')!.reason).toBe('onnxruntime-node has no dml execution provider on linux');
    // onnxruntime loads the provider's library together with onnxruntime_providers_shared.
    writeFileSync(join(lib, 'libonnxruntime_providers_cuda.so'), '');
    expect(providerPresence('linux', linux, lib).get('cuda')!.present).toBe(false);
    writeFileSync(join(lib, 'libonnxruntime_providers_shared.so'), '');
    expect(providerPresence('linux', linux, lib).get('cuda')!.present).toBe(true);
    // Where the backend list or the binding folder cannot be read, a provider is tried.
    expect(providerPresence('linux', null, lib).get('coreml')!.present).toBe(true);
    expect(providerPresence('linux', linux, null).get('cuda')!.present).toBe(true);
    rmSync(lib, { recursive: true });
  });

  it("on this machine: onnxruntime-node's own list, and auto = the installed GPU providers, then the CPU", () => {
    const dir = bindingDir();
    expect(dir && existsSync(join(dir, 'onnxruntime_binding.node'))).toBe(true);
    const here = presenceHere();
    const backends = ort.listSupportedBackends();
    for (const [name, p] of here) {
      const b = backends.find((x) => x.name === name);
      // Present exactly when bundled, or when not bundled and the library file is there.
      const expected = !!b && (b.bundled || (existsSync(join(dir!, providerLibrary(name, process.platform))) && existsSync(join(dir!, providerLibrary('shared', process.platform)))));
      expect(p.present, `${name}: ${p.reason}`).toBe(expected);
      console.log(`${name}: ${p.present ? 'present' : 'absent'} (${p.reason})`);
    }
    const gpus = autoCandidates(process.platform).filter((p) => here.get(p)!.present);
    expect(providerOrder('auto')).toEqual([...gpus, 'cpu']);
  });

  it('auto on this machine: no fallback from a provider that is not installed', async () => {
    const m = await OnnxDenoiser.load(TINY, { trustChecksums: true });
    const absent = autoCandidates(process.platform).filter((p) => !presenceHere().get(p)!.present);
    expect(m.fallbacks.filter((f) => absent.includes(f.provider))).toEqual([]);
    if (m.provider === 'cpu') expect(m.precisionFallback).toBeUndefined();
    await m.release();
  });

  it('an explicit provider that is unavailable falls back to the CPU and keeps the reason', async () => {
    const others = { linux: ['cuda', 'dml', 'coreml'], win32: ['coreml'], darwin: ['cuda', 'dml'] }[process.platform as 'linux'] ?? [];
    for (const provider of others) {
      if (presenceHere().get(provider)?.present) continue;
      const m = await OnnxDenoiser.load(TINY, { provider: provider as 'cuda', trustChecksums: true });
      expect(m.provider).toBe('cpu');
      expect(m.fallbacks).toEqual([{ provider, reason: presenceHere().get(provider)!.reason }]);
      // The fp16 graphs are not tried on a provider that was never started: one reason, not two.
      expect(m.precisionFallback).toBeUndefined();
      console.log(`${provider}: fell back to cpu (${m.fallbacks[0].reason})`);
      await m.release();
    }
  });
});
