/**
 * Conjugate-gradient normal solves for bicubic x4 at 128x128, in image space against measurement
 * space (Woodbury), at several alpha/beta: iterations, time, and the largest relative difference.
 *
 *   npm run -s build:cli && node out/cli/tools/cg-woodbury.js
 */
import { performance } from 'node:perf_hooks';
import { normalSolveByCg } from '../engine/linalg/cg-solves.js';
import type { CgStats } from '../engine/linalg/cg.js';
import { bicubicDownsample } from '../engine/operators/index.js';

const shape = { c: 3, h: 128, w: 128 };
const op = bicubicDownsample(shape, 4);
const r = Float64Array.from({ length: 3 * 128 * 128 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
for (const ratio of [1, 1e3, 1e6, 1e8]) {
  const out: Float64Array[] = [];
  // An identity preconditioner keeps normalSolveByCg in image space; without one it takes Woodbury.
  for (const [name, pre] of [['image space', (v: Float64Array) => v], ['measurement space', undefined]] as const) {
    let st: CgStats | undefined;
    const t = performance.now();
    out.push(normalSolveByCg(op, r, ratio, 1, { onSolve: (s) => (st = s) }, pre));
    process.stdout.write(`alpha/beta ${ratio}: ${name}: ${st!.iterations} iterations, ${(performance.now() - t).toFixed(0)} ms\n`);
  }
  let d = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    d = Math.max(d, Math.abs(out[0]![i]! - out[1]![i]!));
    m = Math.max(m, Math.abs(out[1]![i]!));
  }
  process.stdout.write(`  largest difference ${(d / m).toExponential(2)} of the largest entry\n`);
}
