#!/usr/bin/env node
/**
 * Packages the app for Linux as an unpacked folder (dist/linux-unpacked) with electron-builder,
 * using a stand-in for the Electron binary (which cannot be downloaded here), then checks the
 * result: the built app inside app.asar, onnxruntime-node's native files for linux-x64 unpacked
 * beside it, no other platform's or architecture's binaries anywhere, and the Electron fuses of
 * electron-builder.yml read back from the packaged executable. Then it starts the packaged
 * inference service under Node from an extracted copy of the package, which shows that
 * everything the service loads at run time (onnxruntime, sharp, the engine) is in the package.
 *
 * The stand-in carries a fuse wire laid out as in Electron's binary, with Electron's defaults, so
 * electron-builder flips the fuses in it exactly as it would in the real executable.
 *
 *   node scripts/package-linux-dir.mjs [--skip-build]
 */
import { execFileSync, fork } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const require = createRequire(join(root, 'package.json'));
const asar = require('@electron/asar');
const yaml = require('js-yaml');

const standin = join(root, 'out', 'electron-standin');
const unpacked = join(root, 'dist', 'linux-unpacked');
const arch = process.arch;

function run(cmd, args) {
  execFileSync(process.execPath, [join(root, 'node_modules', ...cmd), ...args], { cwd: root, stdio: 'inherit' });
}

if (!process.argv.includes('--skip-build')) run(['electron-vite', 'bin', 'electron-vite.js'], ['build', '--logLevel', 'warn']);

/**
 * Electron's fuse wire (build/fuses/fuses.json5 in Electron): a sentinel, the wire's version byte,
 * its length byte, then one ASCII '0' (off) or '1' (on) per fuse, in this order. Electron 43 to 45
 * have these nine, with these defaults; @electron/fuses finds the sentinel and flips the bytes.
 */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSE_WIRE_VERSION = 1;
const FUSES = [
  // [Electron's name, electron-builder's electronFuses key, Electron's default]
  ['RunAsNode', 'runAsNode', true],
  ['EnableCookieEncryption', 'enableCookieEncryption', false],
  ['EnableNodeOptionsEnvironmentVariable', 'enableNodeOptionsEnvironmentVariable', true],
  ['EnableNodeCliInspectArguments', 'enableNodeCliInspectArguments', true],
  ['EnableEmbeddedAsarIntegrityValidation', 'enableEmbeddedAsarIntegrityValidation', false],
  ['OnlyLoadAppFromAsar', 'onlyLoadAppFromAsar', false],
  ['LoadBrowserProcessSpecificV8Snapshot', 'loadBrowserProcessSpecificV8Snapshot', false],
  ['GrantFileProtocolExtraPrivileges', 'grantFileProtocolExtraPrivileges', true],
  ['WasmTrapHandlers', undefined, true],
];
/** The Electron majors whose fuse wire FUSES describes; another needs the table checked first. */
const FUSE_TABLE_ELECTRON = [43, 44, 45];

const electronVersion = require('electron/package.json').version;

// The stand-in is never run: it only has to be executable and carry the fuse wire.
rmSync(standin, { recursive: true, force: true });
mkdirSync(standin, { recursive: true });
const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL, 'latin1'), Buffer.from([FUSE_WIRE_VERSION, FUSES.length]), Buffer.from(FUSES.map(([, , on]) => (on ? '1' : '0')).join(''), 'latin1')]);
const script = Buffer.from('#!/bin/sh\necho "stand-in for the Electron binary (packaging check only)" >&2\nexit 1\n# fuse wire: ');
writeFileSync(join(standin, 'electron'), Buffer.concat([script, wire, Buffer.from('\n')]));
chmodSync(join(standin, 'electron'), 0o755);
writeFileSync(join(standin, 'version'), electronVersion);

/** The fuse wire of an executable, as Electron reads it: {version, states: {name: boolean | 'removed' | byte}}. */
function readFuses(path) {
  const bytes = readFileSync(path);
  const at = bytes.indexOf(FUSE_SENTINEL, 0, 'latin1');
  if (at < 0) return { error: `no fuse wire in ${relative(root, path)}` };
  if (bytes.indexOf(FUSE_SENTINEL, at + 1, 'latin1') >= 0) return { error: `more than one fuse wire in ${relative(root, path)}` };
  const version = bytes[at + FUSE_SENTINEL.length];
  const length = bytes[at + FUSE_SENTINEL.length + 1];
  const states = {};
  for (let i = 0; i < length; i++) {
    const b = bytes[at + FUSE_SENTINEL.length + 2 + i];
    const name = FUSES[i]?.[0] ?? `fuse${i}`;
    states[name] = b === 0x31 ? true : b === 0x30 ? false : b === 0x72 ? 'removed' : b;
  }
  return { version, length, states };
}

rmSync(unpacked, { recursive: true, force: true });
run(['electron-builder', 'cli.js'], ['--linux', 'dir', `--${arch}`, `-c.electronDist=${standin}`, '--publish', 'never']);

const problems = [];

// Every fuse as electron-builder.yml sets it, the others as Electron ships them.
const configured = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')).electronFuses ?? {};
const major = Number(electronVersion.split('.')[0]);
if (!FUSE_TABLE_ELECTRON.includes(major))
  problems.push(`the stand-in's fuse wire describes Electron ${FUSE_TABLE_ELECTRON.join(', ')}, not ${electronVersion}: check build/fuses/fuses.json5 of that version`);
for (const key of Object.keys(configured)) {
  if (!FUSES.some(([, k]) => k === key)) problems.push(`electron-builder.yml sets an unknown fuse ${key}`);
}
const executable = join(unpacked, 'vmlmap-restore');
const fuses = existsSync(executable) ? readFuses(executable) : { error: 'dist/linux-unpacked/vmlmap-restore is missing' };
if (fuses.error) problems.push(fuses.error);
else {
  if (fuses.version !== FUSE_WIRE_VERSION || fuses.length !== FUSES.length)
    problems.push(`fuse wire version ${fuses.version} with ${fuses.length} fuses, expected version ${FUSE_WIRE_VERSION} with ${FUSES.length}`);
  for (const [name, key, byDefault] of FUSES) {
    const want = key !== undefined && typeof configured[key] === 'boolean' ? configured[key] : byDefault;
    if (fuses.states[name] !== want) problems.push(`fuse ${name} reads ${fuses.states[name]}, expected ${want}`);
  }
}

const resources = join(unpacked, 'resources');
const appAsar = join(resources, 'app.asar');
if (!existsSync(appAsar)) problems.push('resources/app.asar is missing');
const inAsar = existsSync(appAsar) ? asar.listPackage(appAsar, { isPack: false }).map((p) => p.replaceAll('\\', '/')) : [];
for (const f of ['/package.json', '/out/main/index.js', '/out/main/service.js', '/out/main/memory-probe.js', '/out/preload/index.cjs', '/out/renderer/index.html']) {
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

/**
 * Forks one packaged entry from the extracted copy and lets `talk` drive it; resolves with a
 * problem (a string) or undefined.
 */
function smokeEntry(copy, entry, what, talk) {
  const child = fork(join(copy, 'out', 'main', entry), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: copy });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(`the packaged ${what} did not answer in 60 s ${stderr}`), 60_000);
    const done = (problem) => {
      clearTimeout(timer);
      resolve(problem);
    };
    child.on('exit', (code) => {
      const why = stderr.split('\n').find((l) => /Error|Cannot find/.test(l)) ?? stderr.trim().split('\n').at(-1);
      done(`the packaged ${what} exited (${code}): ${why}`);
    });
    child.on('message', (m) => talk(m, child, done));
  }).finally(() => child.kill());
}

/**
 * Forks the packaged service and asks it to probe the devices with a model, and the packaged
 * memory probe (what the service asks main to start, the RunAsNode fuse being off) to measure it.
 */
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
  const haveModel = existsSync(join(model, 'manifest.json'));
  try {
    const service = await smokeEntry(copy, 'service.js', 'service', (m, child, done) => {
      if (m.type === 'ready' && haveModel) child.send({ type: 'probe', requestId: 'p1', dir: model });
      else if (m.type === 'ready') done(undefined);
      else if (m.type === 'reply') {
        const cpu = m.ok && m.value.devices.find((d) => d.provider === 'cpu');
        done(cpu?.ok ? undefined : `the packaged service could not run the model on the CPU: ${m.error ?? JSON.stringify(m.value)}`);
      }
    });
    if (service || !haveModel) return service;
    const { graphs, channels } = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8'));
    const request = {
      graph: join(model, graphs.forward.file),
      provider: 'cpu',
      options: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, enableMemPattern: false },
      inputs: { x: graphs.forward.inputs?.x ?? 'x', t: graphs.forward.inputs?.t ?? 't' },
      channels,
      sizes: [64, 192],
    };
    return await smokeEntry(copy, 'memory-probe.js', 'memory probe', (m, child, done) => {
      if (m.type === 'ready') child.send({ type: 'measure', request });
      else if (m.type === 'peaks' && m.peaks.length === 3) done(undefined);
      else done(`the packaged memory probe answered ${JSON.stringify(m).slice(0, 300)}`);
    });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

if (!problems.length) {
  const smoke = await serviceSmoke();
  if (smoke) problems.push(smoke);
}

const summary = {
  out: relative(root, unpacked),
  electron: electronVersion,
  // As read back from the packaged executable (true: on).
  fuses: fuses.states ?? null,
  asarFiles: inAsar.length,
  unpackedFiles: unpackedFiles.length,
  onnxruntime: unpackedFiles.filter((p) => p.includes('onnxruntime-node/bin/')),
  problems,
};
console.log(JSON.stringify(summary, null, 2));
process.exit(problems.length ? 1 : 0);
