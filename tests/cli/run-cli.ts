/** The built CLI run as a user runs it, on the tiny test model with a fast schedule. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'out', 'cli', 'cli', 'main.js');
export const TINY = join(ROOT, 'tests', '.models', 'tiny');
export const FAST = ['--model', TINY, '--preset', 'fast', '--steps', '2', '--provider', 'cpu'];

export function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}
