/** Finds and loads the model: --model DIR, or the bundled default model. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxDenoiser, type PrecisionChoice } from '../engine/model/denoiser.js';
import type { ProviderChoice } from '../engine/model/providers.js';
import { UserError } from '../engine/types.js';

/** The package root: the nearest folder above this file holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the CLI');
    dir = up;
  }
  return dir;
}

export function defaultModelDir(): string {
  return join(packageRoot(), 'resources', 'models', 'default');
}

export async function loadModel(dir: string | undefined, provider: ProviderChoice, precision: PrecisionChoice = 'auto'): Promise<OnnxDenoiser> {
  const path = dir ? resolve(dir) : defaultModelDir();
  if (!dir && !existsSync(join(path, 'manifest.json'))) throw new UserError(`no bundled model at ${path}: pass --model DIR`);
  if (!existsSync(path)) throw new UserError(`model folder ${path} does not exist`);
  return OnnxDenoiser.load(path, { provider, precision });
}
