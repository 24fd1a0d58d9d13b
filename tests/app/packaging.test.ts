/**
 * Packaging with electron-builder for Linux (unpacked folder), with a stand-in for the Electron
 * binary that carries Electron's fuse wire: the app is in app.asar, onnxruntime-node's native
 * files for this platform are unpacked, other platforms' are left out, the fuses are flipped as
 * electron-builder.yml says, and the packaged inference service and memory probe start and run
 * the model. The checks themselves are in scripts/package-linux-dir.mjs (also
 * `npm run package:linux-dir`).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers.js';

it.skipIf(process.platform !== 'linux')('packages for Linux with native files unpacked, no foreign binaries, and the fuses set', () => {
  const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package-linux-dir.mjs'), '--skip-build'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const summary = JSON.parse(out.slice(out.indexOf('{\n'))) as { problems: string[]; onnxruntime: string[]; fuses: Record<string, boolean> };
  expect(summary.problems).toEqual([]);
  // Read back from dist/linux-unpacked/vmlmap-restore after electron-builder flipped them.
  expect(summary.fuses).toEqual({
    RunAsNode: false,
    EnableCookieEncryption: false,
    EnableNodeOptionsEnvironmentVariable: false,
    EnableNodeCliInspectArguments: false,
    // Checked by Electron on macOS and Windows; Linux builds have no asar integrity check.
    EnableEmbeddedAsarIntegrityValidation: true,
    OnlyLoadAppFromAsar: true,
    LoadBrowserProcessSpecificV8Snapshot: false,
    GrantFileProtocolExtraPrivileges: false,
    // Not configurable through electron-builder 26; Electron's default (on) is kept.
    WasmTrapHandlers: true,
  });
  expect(summary.onnxruntime).toEqual([
    `app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6/linux/${process.arch}/libonnxruntime.so.1`,
    `app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6/linux/${process.arch}/onnxruntime_binding.node`,
  ]);
});
