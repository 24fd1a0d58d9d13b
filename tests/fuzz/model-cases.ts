/**
 * Broken model folders for the fuzz suite: copies of the tiny test model with one thing wrong each,
 * a manifest field out of bounds or of the wrong type, a graph file that is a folder or a FIFO, a
 * garbage graph whose checksum matches, graphs swapped or renamed. Checksums are updated where the
 * case is about something else, so that each case reaches the check it is about.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzCase } from './harness.js';

type Manifest = Record<string, unknown> & { graphs: Record<string, Record<string, unknown>> };

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

export function modelCases(root: string, tiny: string, photo: string): FuzzCase[] {
  mkdirSync(root, { recursive: true });
  const base = JSON.parse(readFileSync(join(tiny, 'manifest.json'), 'utf8')) as Manifest;
  const cases: FuzzCase[] = [];
  let n = 0;
  /** A copy of the tiny model, changed by `edit` (which may also change files), as one case. */
  /** `edit` returns the manifest to write (a string as is), nothing for the edited `m`, or null to write none. */
  const add = (name: string, edit: (m: Manifest, dir: string) => Manifest | string | void | null): void => {
    const dir = join(root, `m${n++}`);
    cpSync(tiny, dir, { recursive: true });
    const m = structuredClone(base);
    const out = edit(m, dir);
    if (out !== null) writeFileSync(join(dir, 'manifest.json'), typeof out === 'string' ? out : JSON.stringify(out ?? m));
    cases.push({ name: `model: ${name}`, args: ['restore', '--task', 'denoise', '--sigma-y', '0.05', '--input', photo, '--output', 'OUT/r.png', '--model', dir, '--steps', '2', '--provider', 'cpu'] });
  };
  const field = (path: string[], value: unknown) => (m: Manifest) => {
    let o = m as Record<string, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
    if (value === undefined) delete o[path.at(-1)!];
    else o[path.at(-1)!] = value;
  };
  /** Replaces a graph file's bytes and gives the manifest their checksum. */
  const replaceGraph = (which: 'forward' | 'vjp', bytes: (dir: string) => Buffer) => (m: Manifest, dir: string) => {
    const file = join(dir, m.graphs[which]!.file as string);
    writeFileSync(file, bytes(dir));
    m.graphs[which]!.sha256 = sha(file);
  };

  add('intact (control)', () => undefined);
  add('manifest not JSON', () => '{"format": ');
  add('manifest is an array', () => '[]');
  add('manifest is null', () => 'null');
  add('manifest of 2 MB', (m) => ({ ...m, description: 'x'.repeat(2 << 20) }));
  for (const [path, values] of [
    [['format'], [undefined, 'onnx', 1]],
    [['formatVersion'], [undefined, 2, '1']],
    [['prediction'], ['x0', undefined]],
    [['channels'], [0, 2, 4, 3.5, '3', undefined]],
    [['valueRange'], [[0, 1e300], [1, 0], [0, 0], [0, Number.NaN], [0], 'x', [-1e9, 1e9], undefined]],
    [['sizeMultiple'], [0, -8, 7, 1e6, 2.5, '8', undefined]],
    [['fixedSize'], [[0, 0], [1e9, 1e9], [16], [16, 24], 'x']],
    [['schedule'], [undefined, null, 'vp-linear', {}]],
    [
      ['schedule', 'type'],
      ['ve', undefined],
    ],
    [
      ['schedule', 'timesteps'],
      [1e9, 1, 2.5, 0, -5, undefined],
    ],
    [
      ['schedule', 'betaStart'],
      [0, -1, 1, 0.5, Number.NaN],
    ],
    [
      ['schedule', 'betaEnd'],
      [1, 2, 0, 1e-12],
    ],
    [['graphs'], [undefined, null, [], 'eps.onnx']],
    [
      ['graphs', 'forward'],
      [undefined, null, 'eps.onnx'],
    ],
    [
      ['graphs', 'forward', 'file'],
      ['../tiny/eps.onnx', '/etc/passwd', 'missing.onnx', '', 5, 'manifest.json'],
    ],
    [
      ['graphs', 'forward', 'sha256'],
      ['0'.repeat(64), 'xyz', undefined],
    ],
    [
      ['graphs', 'forward', 'inputs'],
      [{ x: 'input', t: 't' }, { x: 'x', t: 'time' }, 'x', { x: 5 }],
    ],
    [
      ['graphs', 'forward', 'output'],
      ['noise', 5, ''],
    ],
    [['graphs', 'vjp', 'output'], ['eps']],
    [['graphs', 'vjp', 'inputs'], [{ x: 'x', t: 't', v: 'w' }]],
    [
      ['graphs', 'forward', 'externalData'],
      ['weights.bin', [{ file: 'missing.bin', sha256: '0'.repeat(64) }], [{ file: '../../x', sha256: '0'.repeat(64) }]],
    ],
    [['variants'], ['fp16', { fp16: 'x' }, { fp16: { forward: { file: 'missing.onnx', sha256: '0'.repeat(64) } } }]],
  ] as [string[], unknown[]][])
    for (const v of values) add(`${path.join('.')} = ${JSON.stringify(v) ?? 'absent'}`, field(path, v));

  add('forward and VJP graphs swapped', (m) => {
    [m.graphs.forward, m.graphs.vjp] = [
      { ...m.graphs.vjp, inputs: m.graphs.forward!.inputs, output: m.graphs.forward!.output },
      { ...m.graphs.forward, inputs: m.graphs.vjp!.inputs, output: m.graphs.vjp!.output },
    ];
  });
  add(
    'forward graph is garbage with a matching checksum',
    replaceGraph('forward', () => Buffer.from('not an onnx graph at all')),
  );
  add(
    'VJP graph is garbage with a matching checksum',
    replaceGraph('vjp', () => Buffer.from('\x08\x07garbage')),
  );
  add(
    'forward graph is empty with a matching checksum',
    replaceGraph('forward', () => Buffer.alloc(0)),
  );
  add(
    'forward graph is the VJP graph (checksum matching)',
    replaceGraph('forward', (dir) => readFileSync(join(dir, 'eps_vjp.onnx'))),
  );
  add(
    'forward graph truncated (checksum matching)',
    replaceGraph('forward', (dir) => readFileSync(join(dir, 'eps.onnx')).subarray(0, 5000)),
  );
  add('eps.onnx is a folder', (_m, dir) => {
    rmSync(join(dir, 'eps.onnx'));
    mkdirSync(join(dir, 'eps.onnx'));
  });
  add('eps.onnx is a FIFO', (_m, dir) => {
    rmSync(join(dir, 'eps.onnx'));
    execFileSync('mkfifo', [join(dir, 'eps.onnx')]);
  });
  add('eps.onnx is a link to /dev/zero', (_m, dir) => {
    rmSync(join(dir, 'eps.onnx'));
    symlinkSync('/dev/zero', join(dir, 'eps.onnx'));
  });
  add('eps.onnx is missing', (_m, dir) => rmSync(join(dir, 'eps.onnx')));
  add('manifest.json is a folder', (_m, dir) => {
    rmSync(join(dir, 'manifest.json'));
    mkdirSync(join(dir, 'manifest.json', 'x'), { recursive: true });
    return null;
  });
  add('manifest.json is a FIFO', (_m, dir) => {
    rmSync(join(dir, 'manifest.json'));
    execFileSync('mkfifo', [join(dir, 'manifest.json')]);
    return null;
  });
  return cases;
}
