/**
 * Execution providers: which to try, in what order, and why a provider was not used. onnxruntime
 * throws when a provider cannot start (no silent fallback), so each is tried on its own and the
 * reason kept for the user.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';

// A provider that cannot start (no CUDA libraries, say) makes onnxruntime print a red error log
// before it throws; the engine catches the throw and reports the reason itself, so the log is noise.
ort.env.logLevel = 'fatal';

export const PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
export type ProviderChoice = (typeof PROVIDERS)[number];

/**
 * 'auto' tries the platform's native GPU provider, then the CPU. WebGPU is tried only when asked
 * for: on a machine whose only Vulkan driver is a software rasteriser it runs, but far slower
 * than the CPU provider, and nothing in onnxruntime tells the two apart.
 */
export function providerOrder(choice: ProviderChoice, platform = process.platform): string[] {
  if (choice !== 'auto') return choice === 'cpu' ? ['cpu'] : [choice, 'cpu'];
  if (platform === 'win32') return ['cuda', 'dml', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'cpu'];
  return ['cuda', 'cpu'];
}

export interface SessionResult {
  session: ort.InferenceSession;
  provider: string;
  /** One entry per provider that was tried and failed, with onnxruntime's reason. */
  fallbacks: { provider: string; reason: string }[];
}

export function sessionOptions(provider: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    // Without the memory-pattern cache the CPU arena holds about one run's peak whatever the input
    // shapes (tiles of several sizes): 1.5 KB/px for the default model at 512x512 after four
    // shapes, against 3.0 KB/px with it, at the same speed within 2% (docs/TILING.md).
    enableMemPattern: false,
  };
}

/** GPU execution providers: the ones the fp16 variant of a model is for (the CPU always runs fp32). */
export const GPU_PROVIDERS: readonly string[] = ['webgpu', 'cuda', 'dml', 'coreml'];
export const isGpuProvider = (provider: string): boolean => GPU_PROVIDERS.includes(provider);

/** First line of an onnxruntime error. */
export const reasonOf = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0];

/**
 * One session on one provider; throws onnxruntime's error. From a path, so that onnxruntime finds
 * a graph's external data (the weights file) beside it.
 */
export function openSession(path: string, provider: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, sessionOptions(provider));
}

export async function createSession(path: string, order: string[]): Promise<SessionResult> {
  const fallbacks: SessionResult['fallbacks'] = [];
  for (const provider of order) {
    try {
      const session = await openSession(path, provider);
      return { session, provider, fallbacks };
    } catch (e) {
      fallbacks.push({ provider, reason: reasonOf(e) });
    }
  }
  throw new Error(`no execution provider could load ${path}: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}
