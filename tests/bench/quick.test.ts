/**
 * The benchmark's quick plan end to end on the tiny test model (tests/.models/tiny): it must run,
 * write a report with every section and table, finite numbers and readable plots. A check that the
 * benchmark works, not a timing test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { callsPerSolve } from '../../engine/job/time-estimate.js';
import { tunedSettings } from '../../bench/tuned.js';
import { settingsFor } from '../../engine/solvers/index.js';
import { TASKS as BENCH_TASKS } from '../../bench/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'out', 'cli', 'bench', 'main.js');
const TINY = join(ROOT, 'tests', '.models', 'tiny');
const TASKS = ['denoise', 'sr4', 'deblur-gauss', 'deblur-motion', 'inpaint-scratch', 'inpaint-box', 'colorize'];

let dir: string;
let report: string;
let raw: { records: Record<string, unknown>[]; failures: unknown[] };
let run: ReturnType<typeof spawnSync>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmlmap-bench-'));
  run = spawnSync(process.execPath, [MAIN, '--quick', '--model', TINY, '--out', join(dir, 'BENCHMARKS.md'), '--work', join(dir, 'work')], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 900_000,
  });
  if (existsSync(join(dir, 'BENCHMARKS.md'))) report = readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8');
  if (existsSync(join(dir, 'work', 'raw.json'))) raw = JSON.parse(readFileSync(join(dir, 'work', 'raw.json'), 'utf8'));
}, 900_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The rows of the markdown table that follows `heading` (header and separator excluded). */
function tableAfter(heading: string): string[][] {
  const lines = report.split('\n');
  let i = lines.findIndex((l) => l.startsWith(heading));
  expect(i, `heading ${heading}`).toBeGreaterThanOrEqual(0);
  while (i < lines.length && !lines[i]!.startsWith('|')) i++;
  const rows: string[][] = [];
  for (i += 2; i < lines.length && lines[i]!.startsWith('|'); i++)
    rows.push(
      lines[i]!.slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  return rows;
}

const finite = (cell: string | undefined): boolean => cell !== undefined && Number.isFinite(Number.parseFloat(cell));

describe('npm run bench -- --quick (tiny model)', () => {
  it('runs without failures and writes the report', () => {
    expect(run.status, `${run.stderr}`.slice(-3000)).toBe(0);
    expect(report).toBeTruthy();
    expect(raw.failures).toEqual([]);
    expect(report).not.toMatch(/NaN|Infinity|undefined|## Failed runs/);
  });

  it('names the command and the machine', () => {
    expect(report).toContain('npm run bench -- --quick');
    expect(report).toMatch(/\*\*Machine\*\*: .+, \d+ cores \(os\.cpus\(\)\)/);
  });

  it('has the targets, with finite numbers', () => {
    const targets = tableAfter('## The targets');
    expect(targets).toHaveLength(8);
    const floors = tableAfter('### Against the floors');
    expect(floors.map((r) => r[0])).toEqual(TASKS);
    for (const r of floors) for (const k of [1, 4, 5]) expect(finite(r[k]), `${r.join(' | ')}`).toBe(true);
    expect(floors.find((r) => r[0] === 'inpaint-box')![3]).toMatch(/biharmonic|estimate/);
    const dps = tableAfter('### VML-MAP fixed point, fast against DPS');
    expect(dps.map((r) => r[0])).toEqual(TASKS);
    for (const r of dps) for (const c of r.slice(1)) expect(finite(c), `${r.join(' | ')}`).toBe(true);
    for (const heading of ['### VML-MAP fixed point, fast against DiffPIR and DDNM', '### VML-MAP fixed point, fast against DiffPIR and DDNM at their own best settings']) {
      const others = tableAfter(heading);
      expect(others.map((r) => r[0])).toEqual(TASKS);
      for (const r of others) for (const c of r.slice(1)) expect(finite(c), `${heading}: ${r.join(' | ')}`).toBe(true);
    }
  });

  it('has a table and a plot per task, with PSNR, SSIM, NFE, VJPs, time, share and memory', async () => {
    const headings = report.split('\n').filter((l) => l.startsWith('### ') && /sigma_y/.test(l));
    expect(headings).toHaveLength(TASKS.length);
    for (const h of headings) {
      const all = tableAfter(h);
      const rows = all.filter((r) => !r[0]!.startsWith('scikit-image'));
      const denoise = h.startsWith('### denoising');
      expect(rows.map((r) => r[0])).toEqual(['pinv', 'estimate', ...(denoise ? ['one-call'] : []), 'vml-fp-fast', 'diffpir-tuned', 'ddnm-tuned', 'diffpir-fast', 'ddnm-fast', 'dps-50']);
      // The scikit-image baselines of the task, tuned on the truth: PSNR only.
      const sk = all.filter((r) => r[0]!.startsWith('scikit-image'));
      expect(sk.length).toBeGreaterThan(0);
      for (const r of sk) expect(finite(r[2]), `${h}: ${r.join(' | ')}`).toBe(true);
      for (const r of rows) {
        // solver | images | PSNR | SSIM | NFE | VJPs | wall | in onnxruntime | peak RSS
        for (const k of [1, 2, 3, 4, 5, 6, 8]) expect(finite(r[k]), `${h}: ${r.join(' | ')}`).toBe(true);
        if (!['pinv', 'estimate'].includes(r[0]!)) expect(r[7], `${h}: ${r.join(' | ')}`).toMatch(/^\d+(\.\d)?%$/);
      }
      const dps = rows.find((r) => r[0] === 'dps-50')!;
      expect(Number(dps[4])).toBe(50);
      expect(Number(dps[5])).toBe(50);
    }
    for (const t of TASKS) {
      const png = join(dir, 'img', `bench-${t}.png`);
      expect(report).toContain(`(img/bench-${t}.png)`);
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(400);
    }
  });

  it('its numbers hold what the methods guarantee: the estimate at least pinv, network calls as the presets and the tuned settings say', () => {
    const headings = report.split('\n').filter((l) => l.startsWith('### ') && /sigma_y/.test(l));
    expect(headings).toHaveLength(TASKS.length);
    for (const h of headings) {
      // The task of the table, by its label in the benchmark's own configuration.
      const task = BENCH_TASKS.find((t) => h.includes(t.label))!.spec.task;
      const rows = new Map(tableAfter(h).map((r) => [r[0]!, r]));
      const psnr = (name: string): number => Number.parseFloat(rows.get(name)![2]!);
      // The operator's estimate is pinv y or a regularised improvement of it (docs/ALGORITHM.md).
      expect(psnr('estimate'), h).toBeGreaterThanOrEqual(psnr('pinv') - 0.05);
      const fast = callsPerSolve(settingsFor('vml-fp', 'fast', task));
      expect([Number(rows.get('vml-fp-fast')![4]), Number(rows.get('vml-fp-fast')![5])], h).toEqual([fast.forwards, fast.vjps]);
      for (const solver of ['diffpir', 'ddnm'] as const) {
        const calls = callsPerSolve(settingsFor(solver, 'fast', task));
        expect(Number(rows.get(`${solver}-fast`)![4]), `${h} ${solver}`).toBe(calls.forwards);
        // At their own best settings: the steps bench/tuned-baselines.ts chose for the task.
        expect(Number(rows.get(`${solver}-tuned`)![4]), `${h} ${solver} tuned`).toBe(callsPerSolve(tunedSettings(solver, task)).forwards);
      }
    }
  });

  it('says where the time goes: onnxruntime share per solver, operators, GFLOP/s against the MatMul ceiling', () => {
    const share = tableAfter('### Inside onnxruntime against everything else');
    expect(share.map((r) => r[0])).toEqual(['pinv', 'estimate', 'one-call', 'vml-fp-fast', 'diffpir-tuned', 'ddnm-tuned', 'diffpir-fast', 'ddnm-fast', 'dps-50']);
    for (const r of share.slice(2)) expect(r[3]).toMatch(/%$/);
    const ops = tableAfter('### Inside onnxruntime: time per operator type');
    expect(ops.map((r) => r[0])).toContain('Conv');
    const gf = tableAfter('### Achieved GFLOP/s');
    expect(gf.map((r) => r[0])).toEqual(['MatMul 1024x1024 (ceiling)', 'model forward', 'model VJP']);
    for (const r of gf) for (const k of [2, 3, 4]) expect(finite(r[k]), r.join(' | ')).toBe(true);
    for (const r of gf) expect(Number.parseFloat(r[4]!)).toBeGreaterThan(0);
    // The tiny model's FLOPs, counted from its graphs at 64x64 (the same total as an independent count with onnx.shape_inference in Python).
    const fwd = gf.find((r) => r[0] === 'model forward')!;
    expect(Number.parseFloat(fwd[2]!)).toBeCloseTo(0.093, 3);
  });

  it('has the scaling table and plot', async () => {
    const rows = tableAfter('## Scaling with image size');
    expect(rows[0]![0]).toBe('256x256');
    for (const k of [1, 2, 3, 4, 5]) expect(finite(rows[0]![k]), rows[0]!.join(' | ')).toBe(true);
    expect((await sharp(join(dir, 'img', 'bench-scaling.png')).metadata()).format).toBe('png');
  });

  it('measures painted brush strokes against biharmonic inpainting on the painted pixels', () => {
    const rows = tableAfter('## Brush strokes as a person paints them');
    expect(rows.map((r) => r[0])).toEqual(['estimate', 'vml-fp-fast', 'scikit-image: biharmonic inpainting']);
    for (const r of rows) for (const k of [2, 3]) expect(finite(r[k]), r.join(' | ')).toBe(true);
  });

  it('keeps finite raw records with per-run peak memory', () => {
    const restores = raw.records.filter((r) => r.kind === 'restore');
    // 5 variants x 7 tasks x 2 images + one call x 2 + painted strokes 2 x 1 + DPS and the 2 tuned baselines x 7 tasks x 1 image
    expect(restores).toHaveLength(5 * 7 * 2 + 2 + 2 + 3 * 7);
    // scikit-image: biharmonic (3 inpainting tasks), Wiener (2 blurs), NLM and TV, back-projected bicubic, grey image
    const classical = raw.records.filter((r) => r.kind === 'classical');
    expect(new Set(classical.map((r) => `${r.task}/${r.method}`)).size).toBe(3 + 2 + 2 + 1 + 1);
    for (const r of classical) expect(Number.isFinite(r.psnr), JSON.stringify(r)).toBe(true);
    for (const r of restores) for (const k of ['psnr', 'ssim', 'wallMs', 'onnxMs', 'peakRss']) expect(Number.isFinite(r[k]), `${k} of ${JSON.stringify(r)}`).toBe(true);
    expect(raw.records.filter((r) => r.kind === 'roofline')).toHaveLength(1);
    expect(raw.records.filter((r) => r.kind === 'scaling')).toHaveLength(1);
  });
});
