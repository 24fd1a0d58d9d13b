/**
 * The damage detector's speed (engine/estimate/damage.ts, damageProbability; issue 13's limit is
 * 1 s of CPU per megapixel): the development photos at full size, read with the engine's
 * readImage; one untimed call on each photo to warm up (`--warmup N` passes; 0: a single call on
 * the first photo), then one timed call per photo. Prints a markdown table of the CPU time
 * (process.cpuUsage, user + system, this process alone, its compiler and collector threads
 * included; the machine may be shared) and the wall time per megapixel, and the overall CPU ms/MP
 * (total CPU over total megapixels). A single warm-up call is not enough: V8 optimises the
 * detector's functions over several calls, and the first photos timed after one call cost up to
 * three times what they cost later.
 *
 * `--against FILE` compares another build of the detector (a module exporting damageProbability,
 * e.g. the previous damage.ts compiled to JavaScript outside the repository): both are warmed up,
 * then each photo is timed with the two in turn, `--rounds` times (default 3), keeping each one's
 * fastest; the table gets its columns and the largest absolute difference of the probabilities.
 * Timing the two alternately in one process is fairer than two runs on a machine shared with
 * other jobs, whose load changes from minute to minute.
 *
 * `--save DIR` writes each photo's probabilities as raw Float32 (DIR/<photo>.f32); `--compare DIR`
 * reads them back and prints the largest absolute difference from this run's.
 *
 *   npm run -s build:cli && node out/cli/bench/studies/damage-speed.js [--data data/dev] [--images 12] [--warmup 1] [--against FILE [--rounds 3]] [--save DIR] [--compare DIR]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { damageProbability } from '../../engine/estimate/damage.js';
import { readImage } from '../../engine/photo/image.js';
import type { Img } from '../../engine/types.js';
import { pickPhotos } from '../images.js';

type Detector = (image: Img) => Float32Array;

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'data/dev' },
    images: { type: 'string', default: '12' },
    warmup: { type: 'string', default: '1' },
    against: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    save: { type: 'string' },
    compare: { type: 'string' },
  },
});

/** CPU and wall milliseconds of one call, and its result. */
function timed(detect: Detector, image: Img): { cpu: number; wall: number; prob: Float32Array } {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const prob = detect(image);
  const wall = performance.now() - wall0;
  const used = process.cpuUsage(cpu0);
  return { cpu: (used.user + used.system) / 1000, wall, prob };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`${a.length} probabilities against ${b.length}`);
  let d = 0;
  for (let p = 0; p < a.length; p++) d = Math.max(d, Math.abs(a[p]! - b[p]!));
  return d;
}

const other: Detector | undefined = values.against ? (await import(pathToFileURL(resolve(values.against)).href)).damageProbability : undefined;
if (values.against && typeof other !== 'function') throw new Error(`${values.against} exports no damageProbability`);
const rounds = other ? Math.max(1, Number(values.rounds)) : 1;

const photos: { name: string; image: Img }[] = [];
for (const path of pickPhotos(values.data, Number(values.images))) photos.push({ name: basename(path), image: (await readImage(path)).image });

// Warm-up: the JIT's first passes.
const passes = Number(values.warmup);
for (let pass = 0; pass < Math.max(1, passes); pass++)
  for (const { image } of passes > 0 ? photos : photos.slice(0, 1)) {
    damageProbability(image);
    other?.(image);
  }

if (values.save) mkdirSync(values.save, { recursive: true });
const total = { mp: 0, cpu: 0, wall: 0, otherCpu: 0, otherWall: 0 };
let worst = { name: '', cpu: 0 };
let worstOther = { name: '', cpu: 0 };
let maxDiff = 0;
const rows: string[] = [];
for (const { name, image } of photos) {
  const mp = (image.h * image.w) / 1e6;
  let mine = { cpu: Infinity, wall: Infinity };
  let theirs = { cpu: Infinity, wall: Infinity };
  let prob: Float32Array = new Float32Array(0);
  let diff = 0;
  for (let r = 0; r < rounds; r++) {
    let theirProb: Float32Array | undefined;
    if (other) {
      const t = timed(other, image);
      theirs = { cpu: Math.min(theirs.cpu, t.cpu), wall: Math.min(theirs.wall, t.wall) };
      theirProb = t.prob;
    }
    const t = timed(damageProbability, image);
    mine = { cpu: Math.min(mine.cpu, t.cpu), wall: Math.min(mine.wall, t.wall) };
    prob = t.prob;
    if (theirProb) diff = Math.max(diff, maxAbsDiff(theirProb, prob));
  }
  total.mp += mp;
  total.cpu += mine.cpu;
  total.wall += mine.wall;
  if (mine.cpu / mp > worst.cpu) worst = { name, cpu: mine.cpu / mp };
  const cells = [name.replace(/^.*__/, ''), mp.toFixed(2), (mine.cpu / mp).toFixed(0), (mine.wall / mp).toFixed(0)];
  if (other) {
    total.otherCpu += theirs.cpu;
    total.otherWall += theirs.wall;
    if (theirs.cpu / mp > worstOther.cpu) worstOther = { name, cpu: theirs.cpu / mp };
    maxDiff = Math.max(maxDiff, diff);
    cells.push((theirs.cpu / mp).toFixed(0), (theirs.wall / mp).toFixed(0), (theirs.cpu / mine.cpu).toFixed(2), diff.toExponential(1));
  }
  if (values.compare) {
    const file = join(values.compare, `${name}.f32`);
    if (existsSync(file)) {
      const buf = readFileSync(file);
      const d = maxAbsDiff(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), prob);
      maxDiff = Math.max(maxDiff, d);
      cells.push(d.toExponential(1));
    } else cells.push('(none saved)');
  }
  if (values.save) writeFileSync(join(values.save, `${name}.f32`), new Uint8Array(prob.buffer, prob.byteOffset, prob.byteLength));
  rows.push(`| ${cells.join(' | ')} |`);
}

const head = ['photo', 'MP', 'CPU ms/MP', 'wall ms/MP'];
if (other) head.push('against: CPU ms/MP', 'against: wall ms/MP', 'CPU ratio', 'max abs diff');
if (values.compare) head.push('max abs diff (saved)');
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => ' --- |').join('')}`);
for (const r of rows) console.log(r);
const all = ['**all**', total.mp.toFixed(2), `**${(total.cpu / total.mp).toFixed(0)}**`, (total.wall / total.mp).toFixed(0)];
if (other) all.push(`**${(total.otherCpu / total.mp).toFixed(0)}**`, (total.otherWall / total.mp).toFixed(0), (total.otherCpu / total.cpu).toFixed(2), maxDiff.toExponential(1));
if (values.compare) all.push(maxDiff.toExponential(1));
console.log(`| ${all.join(' | ')} |`);
console.log(`\nworst CPU ms/MP: ${worst.cpu.toFixed(0)} (${worst.name.replace(/^.*__/, '')})${other ? `; against: ${worstOther.cpu.toFixed(0)} (${worstOther.name.replace(/^.*__/, '')})` : ''}`);
if (other) console.log(`${rounds} rounds, the fastest of each`);
