import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Before any test: builds the CLI (the CLI tests run the built JavaScript, as a user would), and
 * generates the exact test priors and the tiny conv net (model-training/make_test_models.py) once, and again
 * whenever the generator is newer than its output.
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.cli.json'], { stdio: 'inherit', cwd: root });
  const out = join(root, 'tests', '.models');
  const script = join(root, 'model-training', 'make_test_models.py');
  const stamp = join(out, 'DONE');
  if (existsSync(stamp) && statSync(stamp).mtimeMs > statSync(script).mtimeMs) return;
  execFileSync('/usr/bin/python3', [script, '--out', out], { stdio: 'inherit', cwd: root });
}
