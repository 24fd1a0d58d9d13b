/**
 * The execution providers and precisions a person can choose, as plain lists. The engine, the
 * CLI, the IPC schemas, the inference service and the page all import them from here; this
 * module imports nothing, so the renderer's browser bundle can load it (providers.ts cannot: it
 * loads onnxruntime-node).
 */

/** onnxruntime's execution providers the engine can run on, by onnxruntime's own names. */
export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Each provider as a person knows it (the app's device test and its notices). */
export const PROVIDER_LABELS: Record<ExecutionProvider, string> = {
  cuda: 'NVIDIA GPU (CUDA)',
  dml: 'GPU (DirectML)',
  coreml: 'Apple Neural Engine / GPU (Core ML)',
  webgpu: 'GPU (WebGPU)',
  cpu: 'CPU',
};

/** What a person may ask for: one provider, or 'auto' (providers.ts providerOrder). */
export const PROVIDER_CHOICES = ['auto', ...EXECUTION_PROVIDERS] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

/** GPU execution providers: the ones the fp16 variant of a model is for (the CPU always runs fp32). */
export const GPU_PROVIDERS: readonly ExecutionProvider[] = EXECUTION_PROVIDERS.filter((p) => p !== 'cpu');

/** The GPU providers 'auto' tries on each platform, best first (the CPU always comes last). */
export function autoCandidates(platform: string): ExecutionProvider[] {
  if (platform === 'win32') return ['cuda', 'dml'];
  if (platform === 'darwin') return ['coreml'];
  return ['cuda'];
}

/** The providers the app's device test tries on a platform: auto's, then WebGPU, then the CPU. */
export const probeCandidates = (platform: string): ExecutionProvider[] => [...autoCandidates(platform), 'webgpu', 'cpu'];

/** The numeric precision of a model's graphs (model folder: fp32 always, an fp16 variant optionally). */
export const GRAPH_PRECISIONS = ['fp32', 'fp16'] as const;
export type GraphPrecision = (typeof GRAPH_PRECISIONS)[number];

/** What a person may ask for: a graph precision, or 'auto' (fp16 on a GPU provider when the model has it). */
export const PRECISION_CHOICES = ['auto', ...GRAPH_PRECISIONS] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];
