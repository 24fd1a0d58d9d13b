/**
 * Packaging with electron-builder for Linux (unpacked folder), with a stand-in for the Electron
 * binary: the app is in app.asar, onnxruntime-node's native files for this platform are unpacked,
 * other platforms' are left out, and the packaged inference service starts and runs the model.
 * The checks themselves are in scripts/package-linux-dir.mjs (also `npm run package:linux-dir`).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers.js';

it.skipIf(process.platform !== 'linux')('packages for Linux with native files unpacked and no foreign binaries', () => {
  const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package-linux-dir.mjs'), '--skip-build'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const summary = JSON.parse(out.slice(out.indexOf('{\n'))) as { problems: string[]; onnxruntime: string[] };
  expect(summary.problems).toEqual([]);
  expect(summary.onnxruntime).toEqual([
    `app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6/linux/${process.arch}/libonnxruntime.so.1`,
    `app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6/linux/${process.arch}/onnxruntime_binding.node`,
  ]);
});
