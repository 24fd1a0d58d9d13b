/**
 * The device probe: on each execution provider this platform could offer, create a real session
 * of the model's forward graph and run it once. A provider counts as working only when that run
 * succeeds, because onnxruntime may list a provider whose libraries or driver are missing and
 * only fails when a session is created (or, for some GPUs, when it first runs).
 */
import * as ort from 'onnxruntime-node';
import { readManifest } from '../engine/model/manifest.js';
import { sessionOptions } from '../engine/model/providers.js';
import type { DeviceReport, ProbeResult } from '../common/api.js';
import { candidateProviders } from '../common/service-protocol.js';

const LABELS: Record<DeviceReport['provider'], string> = {
  cuda: 'NVIDIA GPU (CUDA)',
  dml: 'GPU (DirectML)',
  coreml: 'Apple Neural Engine / GPU (Core ML)',
  webgpu: 'GPU (WebGPU)',
  cpu: 'CPU',
};

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0]!.trim();

function bundledBackends(): Map<string, boolean> {
  try {
    return new Map(ort.listSupportedBackends().map((b) => [b.name.toLowerCase(), b.bundled]));
  } catch {
    return new Map();
  }
}

/** Names onnxruntime-node uses in listSupportedBackends for our provider names. */
const BACKEND_NAME: Record<DeviceReport['provider'], string> = { cuda: 'cuda', dml: 'dml', coreml: 'coreml', webgpu: 'webgpu', cpu: 'cpu' };

export async function probeDevices(modelDir: string, platform = process.platform): Promise<ProbeResult> {
  const model = readManifest(modelDir);
  const m = model.manifest;
  // A small input the model accepts: its fixed size, or 32x32 rounded up to its size multiple.
  const [h, w] = m.fixedSize ?? [Math.ceil(32 / m.sizeMultiple) * m.sizeMultiple, Math.ceil(32 / m.sizeMultiple) * m.sizeMultiple];
  const g = m.graphs.forward;
  const backends = bundledBackends();
  const devices: DeviceReport[] = [];
  for (const provider of candidateProviders(platform)) {
    const label = LABELS[provider];
    if (backends.size > 0 && !backends.has(BACKEND_NAME[provider])) {
      devices.push({ provider, label, ok: false, reason: `not included in onnxruntime for ${platform}` });
      continue;
    }
    let session: ort.InferenceSession | undefined;
    try {
      // Fatal-only logging: the reason is reported to the user, not printed by onnxruntime as well.
      session = await ort.InferenceSession.create(model.forwardPath, { ...sessionOptions(provider), logSeverityLevel: 4 });
      const x = new ort.Tensor('float32', new Float32Array(m.channels * h * w), [1, m.channels, h, w]);
      const t = new ort.Tensor('float32', Float32Array.of(m.schedule.timesteps / 2), [1]);
      const feeds = { [g.inputs.x!]: x, [g.inputs.t!]: t };
      await session.run(feeds); // the first run compiles kernels on GPU providers; time the second
      const t0 = performance.now();
      await session.run(feeds);
      devices.push({ provider, label, ok: true, ms: Math.round((performance.now() - t0) * 10) / 10 });
    } catch (e) {
      devices.push({ provider, label, ok: false, reason: firstLine(e) || 'failed to start' });
    } finally {
      await session?.release().catch(() => undefined);
    }
  }
  const working = devices.filter((d) => d.ok).sort((a, b) => a.ms! - b.ms!);
  return { devices, recommended: working[0]?.provider ?? 'cpu' };
}
