/** A one-line progress bar on a terminal (stderr); silent when stderr is not a TTY or with --json. */
import type { Progress } from '../engine/types.js';

const fmt = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function progressBar(label: string, enabled = process.stderr.isTTY === true): ((p: Progress) => void) & { done(): void } {
  let drawn = false;
  const fn = (p: Progress): void => {
    if (!enabled) return;
    const width = 30;
    const filled = Math.round((p.step / p.total) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    process.stderr.write(`\r${label} [${bar}] ${p.step}/${p.total} ${fmt(p.elapsedMs)} elapsed, ETA ${fmt(p.etaMs)}   `);
    drawn = true;
  };
  return Object.assign(fn, {
    done(): void {
      if (drawn) process.stderr.write('\n');
    },
  });
}
