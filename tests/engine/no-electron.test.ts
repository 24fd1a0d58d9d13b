/** The engine is plain TypeScript: the CLI, the tests and the app's service all run the same code. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('engine independence', () => {
  it('no file under engine/ or cli/ imports electron or app code', () => {
    const offenders: string[] = [];
    const list = [...files(join(ROOT, 'engine')), ...files(join(ROOT, 'cli'))];
    expect(list.length).toBeGreaterThan(10);
    for (const f of list) {
      const src = readFileSync(f, 'utf8');
      const imports = [...src.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of imports) if (/^electron(\/|$)/.test(spec) || /(^|\/)(main|preload|renderer)\//.test(spec)) offenders.push(`${f}: ${spec}`);
    }
    expect(offenders).toEqual([]);
  });
});
