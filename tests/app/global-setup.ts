/**
 * Builds the app (main, the inference service, preload, renderer) with electron-vite before the
 * app's tests: the service tests fork the built service, and the end-to-end test serves the built
 * renderer. Needs no Electron binary. A few seconds; skipped when out/ is newer than every source.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const SOURCES = ['common', 'engine', 'main', 'preload', 'renderer', 'service', 'electron.vite.config.ts', 'package.json'];
const STAMP = join(root, 'out', 'renderer', 'index.html');

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

export default function setup(): void {
  const outputs = [STAMP, join(root, 'out', 'main', 'service.js'), join(root, 'out', 'preload', 'index.cjs')];
  if (outputs.every(existsSync)) {
    const built = Math.min(...outputs.map((p) => statSync(p).mtimeMs));
    if (SOURCES.every((s) => !existsSync(join(root, s)) || newest(join(root, s)) < built)) return;
  }
  execFileSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  });
}
