#!/usr/bin/env node
/**
 * Packages the app for Linux as an unpacked folder (dist/linux-unpacked) with electron-builder,
 * using a stand-in for the Electron binary (which cannot be downloaded here), then checks the
 * result: the built app inside app.asar, onnxruntime-node's native files for linux-x64 unpacked
 * beside it, and no other platform's or architecture's binaries anywhere. Then it starts the
 * packaged inference service under Node from an extracted copy of the package, which shows that
 * everything the service loads at run time (onnxruntime, sharp, the engine) is in the package.
 *
 *   node scripts/package-linux-dir.mjs [--skip-build]
 */
import { execFileSync, fork } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const require = createRequire(join(root, 'package.json'));
const asar = require('@electron/asar');

const standin = join(root, 'out', 'electron-standin');
const unpacked = join(root, 'dist', 'linux-unpacked');
const arch = process.arch;

function run(cmd, args) {
  execFileSync(process.execPath, [join(root, 'node_modules', ...cmd), ...args], { cwd: root, stdio: 'inherit' });
}

if (!process.argv.includes('--skip-build')) run(['electron-vite', 'bin', 'electron-vite.js'], ['build', '--logLevel', 'warn']);

// The stand-in only has to exist and be executable; it is never run.
rmSync(standin, { recursive: true, force: true });
mkdirSync(standin, { recursive: true });
writeFileSync(join(standin, 'electron'), '#!/bin/sh\necho "stand-in for the Electron binary (packaging check only)" >&2\nexit 1\n');
chmodSync(join(standin, 'electron'), 0o755);
writeFileSync(join(standin, 'version'), require('electron/package.json').version);

rmSync(unpacked, { recursive: true, force: true });
run(['electron-builder', 'cli.js'], ['--linux', 'dir', `--${arch}`, `-c.electronDist=${standin}`, '--publish', 'never']);

const problems = [];
const resources = join(unpacked, 'resources');
const appAsar = join(resources, 'app.asar');
if (!existsSync(appAsar)) problems.push('resources/app.asar is missing');
const inAsar = existsSync(appAsar) ? asar.listPackage(appAsar, { isPack: false }).map((p) => p.replaceAll('\\', '/')) : [];
for (const f of ['/package.json', '/out/main/index.js', '/out/main/service.js', '/out/preload/index.cjs', '/out/renderer/index.html']) {
  if (!inAsar.includes(f)) problems.push(`app.asar lacks ${f}`);
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const unpackedFiles = walk(join(resources, 'app.asar.unpacked')).map((p) => relative(resources, p).replaceAll('\\', '/'));
const ortDir = `app.asar.unpacked/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}`;
for (const f of ['onnxruntime_binding.node', 'libonnxruntime.so.1']) {
  if (!unpackedFiles.includes(`${ortDir}/${f}`)) problems.push(`${ortDir}/${f} is not unpacked`);
}
const foreign = [...inAsar.map((p) => `app.asar${p}`), ...unpackedFiles].filter((p) => {
  const m = /onnxruntime-node\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(p);
  return m && (m[1] !== 'linux' || m[2] !== arch);
});
if (foreign.length) problems.push(`other platforms' onnxruntime binaries are packaged: ${foreign.slice(0, 5).join(', ')}`);
if (inAsar.some((p) => p.startsWith('/node_modules/vue/'))) problems.push('vue is packaged although the renderer bundles it');
if (!unpackedFiles.some((p) => p.includes('node_modules/@img/sharp-'))) problems.push("sharp's native module is not unpacked");
if (existsSync(join(root, 'resources', 'models', 'default', 'manifest.json')) && !existsSync(join(resources, 'models', 'default', 'manifest.json'))) {
  problems.push('the bundled model is not in resources/models/default');
}

function ancestors(dir) {
  const out = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

/** Forks the packaged service, waits for it, and asks it to probe the devices with a model. */
async function serviceSmoke() {
  // Where no folder above has a node_modules, so Node cannot fall back on modules that are not
  // in the package (the repository's own, or a stray /tmp/node_modules).
  const base = [tmpdir(), '/var/tmp', homedir(), '/dev/shm'].find((d) => existsSync(d) && !ancestors(d).some((a) => existsSync(join(a, 'node_modules'))));
  if (!base) {
    console.warn('skipped the packaged-service check: every temporary folder has a node_modules above it');
    return undefined;
  }
  const copy = mkdtempSync(join(base, 'vmlmap-packaged-'));
  asar.extractAll(appAsar, copy);
  const model = join(root, 'tests', '.models', 'tiny');
  const child = fork(join(copy, 'out', 'main', 'service.js'), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: copy });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(`the packaged service did not answer in 60 s ${stderr}`), 60_000);
      child.on('exit', (code) => {
        const why = stderr.split('\n').find((l) => /Error|Cannot find/.test(l)) ?? stderr.trim().split('\n').at(-1);
        resolve(`the packaged service exited (${code}): ${why}`);
      });
      child.on('message', (m) => {
        if (m.type === 'ready' && existsSync(join(model, 'manifest.json'))) child.send({ type: 'probe', requestId: 'p1', dir: model });
        else if (m.type === 'ready') resolve(undefined);
        else if (m.type === 'reply') {
          clearTimeout(timer);
          const cpu = m.ok && m.value.devices.find((d) => d.provider === 'cpu');
          resolve(cpu?.ok ? undefined : `the packaged service could not run the model on the CPU: ${m.error ?? JSON.stringify(m.value)}`);
        }
      });
    });
  } finally {
    child.kill();
    rmSync(copy, { recursive: true, force: true });
  }
}

if (!problems.length) {
  const smoke = await serviceSmoke();
  if (smoke) problems.push(smoke);
}

const summary = {
  out: relative(root, unpacked),
  asarFiles: inAsar.length,
  unpackedFiles: unpackedFiles.length,
  onnxruntime: unpackedFiles.filter((p) => p.includes('onnxruntime-node/bin/')),
  problems,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(problems.length ? 1 : 0);
