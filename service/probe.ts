/**
 * The device probe: on each execution provider this platform could offer, create a real session
 * of the model's forward graph and run it once. A provider counts as working only when that run
 * succeeds, because onnxruntime may list a provider whose libraries or driver are missing and
 * only fails when a session is created (or, for some GPUs, when it first runs). Each provider is
 * tried with the precision a restoration would use there ('auto': the fp16 variant on GPU
 * providers when the model has one), then with fp32 if that fails, as OnnxDenoiser.load does.
 */
import * as ort from 'onnxruntime-node';
import { wantedPrecision } from '../engine/model/denoiser.js';
import { type ExecutionProvider, type GraphPrecision, probeCandidates, PROVIDER_LABELS } from '../engine/model/choices.js';
import { graphSet, type ModelFolder, readManifest } from '../engine/model/manifest.js';
import { sessionOptions } from '../engine/model/providers.js';
import type { DeviceReport, ProbeResult } from '../common/api.js';

const firstLine = (e: unknown): string =>
  String((e as Error)?.message ?? e)
    .split('\n')[0]!
    .trim();

function bundledBackends(): Map<string, boolean> {
  try {
    return new Map(ort.listSupportedBackends().map((b) => [b.name.toLowerCase(), b.bundled]));
  } catch {
    return new Map();
  }
}

/** Times the second of two runs of the forward graph of one precision (the first compiles kernels on GPUs). */
async function timeForward(model: ModelFolder, precision: GraphPrecision, provider: ExecutionProvider): Promise<number> {
  const m = model.manifest;
  const set = graphSet(model, precision)!;
  const g = set.specs.forward;
  // A small input the model accepts: its fixed size, or 32x32 rounded up to its size multiple.
  const [h, w] = m.fixedSize ?? [Math.ceil(32 / m.sizeMultiple) * m.sizeMultiple, Math.ceil(32 / m.sizeMultiple) * m.sizeMultiple];
  let session: ort.InferenceSession | undefined;
  try {
    // Fatal-only logging: the reason is reported to the user, not printed by onnxruntime as well.
    session = await ort.InferenceSession.create(set.paths.forwardPath, { ...sessionOptions(provider), logSeverityLevel: 4 });
    const x = new ort.Tensor('float32', new Float32Array(m.channels * h * w), [1, m.channels, h, w]);
    const t = new ort.Tensor('float32', Float32Array.of(m.schedule.timesteps / 2), [1]);
    const feeds = { [g.inputs.x!]: x, [g.inputs.t!]: t };
    await session.run(feeds);
    const t0 = performance.now();
    await session.run(feeds);
    return Math.round((performance.now() - t0) * 10) / 10;
  } finally {
    await session?.release().catch(() => undefined);
  }
}

export async function probeDevices(modelDir: string, platform = process.platform): Promise<ProbeResult> {
  const model = readManifest(modelDir);
  const hasFp16 = graphSet(model, 'fp16') !== undefined;
  const backends = bundledBackends();
  const devices: DeviceReport[] = [];
  for (const provider of probeCandidates(platform)) {
    const label = PROVIDER_LABELS[provider];
    // The provider names are onnxruntime-node's own (listSupportedBackends, lower-cased).
    if (backends.size > 0 && !backends.has(provider)) {
      devices.push({ provider, label, ok: false, reason: `not included in onnxruntime for ${platform}` });
      continue;
    }
    const want = wantedPrecision('auto', provider, hasFp16).precision;
    try {
      devices.push({ provider, label, ok: true, ms: await timeForward(model, want, provider), precision: want });
    } catch (e) {
      if (want === 'fp32') {
        devices.push({ provider, label, ok: false, reason: firstLine(e) || 'failed to start' });
        continue;
      }
      const fp16Failed = `the fp16 graphs failed (${firstLine(e) || 'failed to start'}): fp32 would run`;
      try {
        devices.push({ provider, label, ok: true, ms: await timeForward(model, 'fp32', provider), precision: 'fp32', note: fp16Failed });
      } catch (e32) {
        devices.push({ provider, label, ok: false, reason: firstLine(e32) || 'failed to start' });
      }
    }
  }
  const working = devices.filter((d) => d.ok).sort((a, b) => a.ms! - b.ms!);
  return { devices, recommended: working[0]?.provider ?? 'cpu' };
}
