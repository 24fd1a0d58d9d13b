/**
 * The CLI fuzz suite (issue 15): bad images, masks, kernels, flags, output paths and model folders,
 * each in its own process. For every case: no crash (exit 0 or 1, no stack trace), no hang, inputs
 * byte-identical, no partial output; a refusal is one `error:` line. Prints its counts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCases } from './cli-cases.js';
import { type Outcome, ROOT, runCases, summary } from './harness.js';
import { makeInputs } from './inputs.js';
import { modelCases } from './model-cases.js';

const TINY = join(ROOT, 'tests', '.models', 'tiny');
// The 100 MP bomb is a few hundred KB on disk, but writing it takes a few seconds and 1 GB.
const BIG_BOMB = freemem() > 4 * 2 ** 30;

let dir: string;
let outcomes: Outcome[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-fuzz-'));
  const inputs = join(dir, 'inputs');
  const files = await makeInputs(inputs, BIG_BOMB);
  const cases = [...cliCases(files, inputs, TINY, BIG_BOMB), ...modelCases(join(inputs, 'models'), TINY, files['photo.png']!)];
  outcomes = await runCases(cases, inputs, join(dir, 'work'));
  process.stdout.write(`${summary(outcomes)}\n`);
  // FUZZ_REPORT=path.json keeps every case's exit status and message, to read them all.
  if (process.env.FUZZ_REPORT)
    writeFileSync(
      process.env.FUZZ_REPORT,
      JSON.stringify(
        outcomes.map(({ name, code, ms, stderr }) => ({ name, code, ms, stderr })),
        null,
        1,
      ),
    );
}, 1_200_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const show = (list: Outcome[]): string => list.map((o) => `${o.name} -> ${o.code}: ${o.stderr.slice(0, 300)}`).join('\n');

describe('CLI fuzz', () => {
  it('never crashes', () => expect(show(outcomes.filter((o) => o.crash))).toBe(''));
  it('never hangs', () => expect(show(outcomes.filter((o) => o.hang))).toBe(''));
  it('never changes an input', () => expect(outcomes.filter((o) => o.inputsChanged.length).map((o) => `${o.name}: ${o.inputsChanged}`)).toEqual([]));
  it('never leaves a partial output', () => expect(outcomes.filter((o) => o.partial.length).map((o) => `${o.name}: ${o.partial}`)).toEqual([]));
  it('refuses with one clear line', () => expect(show(outcomes.filter((o) => o.unclear))).toBe(''));
  it('runs the valid odd inputs and refuses the broken ones', () => {
    const code = (name: string): number | null => outcomes.find((o) => o.name === name)!.code;
    for (const ok of ['input photo.png', 'input rgba.png', 'input deep.png', 'input cmyk.jpg', 'input photo-link.png', 'sr x4 of odd.png']) expect(code(ok), ok).toBe(0);
    for (const bad of ['input fifo.png', 'input /dev/zero', 'input claims-huge.png', 'mask black-mask.png', 'output "OUT/missing/r.png"']) expect(code(bad), bad).toBe(1);
  });
});
