/**
 * Runs CLI cases as a user would (a separate process each) and checks what must hold for any
 * input, however bad: the exit status is 0 or 1 (1 with one `error:` line, never a stack trace),
 * the process ends within its time limit, no input file changes, and a failed run leaves nothing
 * behind in its output folder (no result, no temporary file).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'out', 'cli', 'cli', 'main.js');

export interface FuzzCase {
  name: string;
  /** Arguments after `node main.js`; OUT in an argument is replaced by the case's own output folder. */
  args: string[];
  /** Milliseconds before the run counts as a hang (default 60 s). */
  timeoutMs?: number;
}

export interface Outcome {
  name: string;
  code: number | null;
  stderr: string;
  ms: number;
  crash: boolean;
  hang: boolean;
  /** Exit 1 whose stderr is not one `error:` line (notes before it allowed). */
  unclear: boolean;
  inputsChanged: string[];
  /** A failed run left files in its output folder, or any run left a temporary file. */
  partial: string[];
}

/** sha256 of every regular file under `dir` (FIFOs, devices and links are left alone: reading them could block). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

function runOne(c: FuzzCase, outDir: string): Promise<{ code: number | null; stderr: string; hang: boolean; ms: number }> {
  const args = c.args.map((a) => a.replaceAll('OUT', outDir));
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    let hang = false;
    const timer = setTimeout(() => {
      hang = true;
      child.kill('SIGKILL');
    }, c.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, hang, ms: Date.now() - t0 });
    });
  });
}

/** Runs every case, `parallel` at a time, each with an empty output folder under `work`. */
export async function runCases(cases: FuzzCase[], inputs: string, work: string, parallel = 2): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const outDir = join(work, `case-${i}`);
      mkdirSync(outDir, { recursive: true });
      const before = snapshot(inputs);
      const r = await runOne(c, outDir);
      const after = snapshot(inputs);
      const inputsChanged = [...before].filter(([p, h]) => after.get(p) !== h).map(([p]) => p);
      const left = existsSync(outDir) ? readdirSync(outDir) : [];
      const partial = r.code === 0 ? left.filter((f) => f.endsWith('.tmp')) : left;
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => l && !l.startsWith('note:'));
      const crash = !r.hang && (r.code !== 0 && r.code !== 1 ? true : /internal error|\n\s+at |^\s+at /m.test(r.stderr));
      const unclear = r.code === 1 && !(lines.length === 1 && lines[0]!.startsWith('error: '));
      outcomes[i] = { name: c.name, code: r.code, stderr: r.stderr.trim(), ms: r.ms, crash, hang: r.hang, unclear, inputsChanged, partial };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return outcomes;
}

export function summary(outcomes: Outcome[]): string {
  const n = (f: (o: Outcome) => boolean): number => outcomes.filter(f).length;
  return (
    `fuzz: ${outcomes.length} cases, ${n((o) => o.crash)} crashes, ${n((o) => o.hang)} hangs, ` +
    `${n((o) => o.inputsChanged.length > 0)} inputs changed, ${n((o) => o.partial.length > 0)} partial outputs, ` +
    `${n((o) => o.unclear)} unclear errors (${n((o) => o.code === 0)} ran, ${n((o) => o.code === 1)} refused)`
  );
}
