/**
 * Execution providers: which to try, in what order, and why a provider was not used. onnxruntime
 * throws when a provider cannot start (no silent fallback), so each is tried on its own and the
 * reason kept for the user.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { autoCandidates, EXECUTION_PROVIDERS, GPU_PROVIDERS, type ProviderChoice } from './choices.js';

// A provider that cannot start (no CUDA libraries, say) makes onnxruntime print a red error log
// before it throws; the engine catches the throw and reports the reason itself, so the log is noise.
ort.env.logLevel = 'fatal';

export { autoCandidates, GPU_PROVIDERS, PROVIDER_CHOICES, type ProviderChoice } from './choices.js';

/**
 * The providers to try, in order. 'auto' tries the platform's native GPU providers that are
 * installed here (`installed`, see providerPresence), then the CPU; trying one that is absent only
 * fails, and its reason was noise on every run. WebGPU is tried only when asked for: on a machine
 * whose only Vulkan driver is a software rasteriser it runs, but far slower than the CPU provider,
 * and nothing in onnxruntime tells the two apart. An explicit choice is tried even when absent
 * (OnnxDenoiser.load then records the presence reason rather than calling onnxruntime).
 */
export function providerOrder(choice: ProviderChoice, platform: string = process.platform, installed: ReadonlySet<string> = installedProviders()): string[] {
  if (choice !== 'auto') return choice === 'cpu' ? ['cpu'] : [choice, 'cpu'];
  return [...autoCandidates(platform).filter((p) => installed.has(p)), 'cpu'];
}

export interface Presence {
  present: boolean;
  /** One line: why the provider is (or is not) taken to be present. */
  reason: string;
}

/** The name of a provider's shared library as onnxruntime loads it, beside its own library. */
export const providerLibrary = (name: string, platform: string): string =>
  platform === 'win32' ? `onnxruntime_providers_${name}.dll` : platform === 'darwin' ? `libonnxruntime_providers_${name}.dylib` : `libonnxruntime_providers_${name}.so`;

/** The folder of onnxruntime-node's native binding (and libonnxruntime) for this platform, if found. */
export function bindingDir(platform: string = process.platform, arch: string = process.arch): string | undefined {
  try {
    const root = dirname(dirname(fileURLToPath(import.meta.resolve('onnxruntime-node'))));
    // Packaged, the native files live in app.asar.unpacked beside the archive (electron-builder.yml).
    const bin = join(root, 'bin').replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
    for (const napi of readdirSync(bin)
      .filter((n) => /^napi-v\d+$/.test(n))
      .sort()
      .reverse()) {
      const dir = join(bin, napi, platform, arch);
      if (existsSync(join(dir, 'onnxruntime_binding.node'))) return dir;
    }
  } catch {
    // Not found: presence is then unknown, and the provider is tried.
  }
  return undefined;
}

/**
 * Which execution providers exist here, without creating a session. onnxruntime-node lists its
 * backends with `bundled`; a provider that is not bundled (CUDA, TensorRT on Linux and Windows) is
 * a separate download, which onnxruntime loads from the folder of its own library along with
 * onnxruntime_providers_shared (checked with strace on Linux: it opens exactly that path), so it
 * exists only when those files are there. Where the backend list or that folder cannot be read
 * (null), a provider counts as present and is simply tried. presenceHere() is this machine's.
 */
export function providerPresence(platform: string, backends: readonly { name: string; bundled: boolean }[] | null, libDir: string | null): Map<string, Presence> {
  const out = new Map<string, Presence>();
  for (const provider of EXECUTION_PROVIDERS) {
    const b = backends?.find((x) => x.name.toLowerCase() === provider);
    if (!backends) out.set(provider, { present: true, reason: "onnxruntime-node's backend list is unavailable; tried" });
    else if (!b) out.set(provider, { present: false, reason: `onnxruntime-node has no ${provider} execution provider on ${platform}` });
    else if (b.bundled) out.set(provider, { present: true, reason: 'bundled with onnxruntime-node' });
    else if (!libDir) out.set(provider, { present: true, reason: "not bundled, and onnxruntime-node's binding folder was not found; tried" });
    else {
      // The provider's own library is the one to name; onnxruntime_providers_shared comes with it.
      const missing = [providerLibrary(provider, platform), providerLibrary('shared', platform)].find((f) => !existsSync(join(libDir, f)));
      out.set(
        provider,
        missing ? { present: false, reason: `its library is not installed: no ${missing} in ${libDir}` } : { present: true, reason: `${providerLibrary(provider, platform)} installed in ${libDir}` },
      );
    }
  }
  return out;
}

function supportedBackends(): { name: string; bundled: boolean }[] | null {
  try {
    return ort.listSupportedBackends();
  } catch {
    return null;
  }
}

let presenceCache: Map<string, Presence> | undefined;
/** providerPresence on this machine, computed once per process (the installed files do not change under a run). */
export function presenceHere(): Map<string, Presence> {
  presenceCache ??= providerPresence(process.platform, supportedBackends(), bindingDir() ?? null);
  return presenceCache;
}

/** The providers present on this machine (see providerPresence). */
export function installedProviders(): Set<string> {
  return new Set([...presenceHere()].filter(([, p]) => p.present).map(([name]) => name));
}

/**
 * Debug lines (a provider that was tried and failed, a precision that fell back): written to
 * stderr only with VMLMAP_DEBUG=1. The person sees the provider in use in the result line, and
 * the reasons stay in the JSON's providerFallbacks.
 */
export function debugLog(line: string): void {
  if (process.env.VMLMAP_DEBUG === '1') process.stderr.write(`debug: ${line}\n`);
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

export const isGpuProvider = (provider: string): boolean => (GPU_PROVIDERS as readonly string[]).includes(provider);

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
