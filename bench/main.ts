/**
 * The benchmark: quality and speed of VML-MAP against DPS, DiffPIR and DDNM on the same model, and
 * where the time goes. Regenerates docs/BENCHMARKS.md and docs/img/bench-*.png from scratch.
 *
 *   npm run bench                       the full plan: about 50 min on the 2-core machine (48.9 min
 *                                       of running time at a median load of 2.3: docs/BENCHMARKS.md),
 *                                       DPS 100 steps on 3 photos 7.8 min of it
 *   npm run bench -- --quick            a small plan (under 3 min there), written to bench-out/quick/
 *
 * Flags: --model DIR (default resources/models/default), --out FILE (the report; its plots go to
 * img/ beside it), --data DIR (development photos; fetched with model-training/fetch_data.py when missing),
 * --list TSV (the photo list for fetching), --hires (add the 256x256 comparison of VML-MAP with
 * DPS), --resume (reuse the runs already in bench-out/<plan>/raw.json from an interrupted run with
 * the same model), --only REGEX (run only the runs whose description matches; with --resume the
 * others keep their earlier results), --work DIR (scratch: raw results, copies of the code and the
 * model; default bench-out/<plan>), --from RAW.json (only re-render the report).
 *
 * Every measurement runs in a fresh `node` child process (worker.ts), one after the other, so that
 * each reports its own peak memory and none competes with another for the two cores.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelFiles, readManifest, verifyChecksums } from '../engine/model/manifest.js';
import { type BenchRecord, type Block, type ClassicalRecord, FULL, type Job, type Plan, QUICK, type ScalingRecord, TASKS, variantById } from './config.js';
import { pickPhotos, PHOTO } from './images.js';
import { rawSnapshot } from './raw-snapshot.js';
import { type BenchMeta, writeReport } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root: out/cli/bench -> three levels up. */
const ROOT = resolve(HERE, '..', '..', '..');
/** The worker runs from a private copy of the compiled code (see snapshotCode). */
let worker = join(HERE, 'worker.js');

/**
 * Copies the compiled engine and benchmark to `dir` and runs the workers from there: a run takes
 * an hour, and other people rebuilding out/cli meanwhile must neither break a child half-way
 * through a file write nor mix two versions of the engine in one report.
 */
function snapshotCode(dir: string): void {
  const cli = resolve(HERE, '..');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(cli, 'engine'), join(dir, 'engine'), { recursive: true });
  cpSync(HERE, join(dir, 'bench'), { recursive: true });
  // The copy may live outside the repository (--work in a temporary folder): without this link its
  // imports of onnxruntime-node and sharp would not resolve.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  worker = join(dir, 'bench', 'worker.js');
}

interface Args {
  quick: boolean;
  hires: boolean;
  only?: RegExp;
  model: string;
  out: string;
  data: string;
  list: string;
  work?: string;
  resume: boolean;
  from?: string;
  argv: string[];
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: npm run bench -- [--quick] [--model DIR] [--out FILE] [--data DIR] [--list TSV] [--hires] [--work DIR] [--resume] [--only REGEX] [--from RAW.json]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Partial<Args> & { argv: string[] } = { argv, quick: false, resume: false, hires: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) usage(`${k} needs a value`);
      return v;
    };
    if (k === '--quick') a.quick = true;
    else if (k === '--resume') a.resume = true;
    else if (k === '--hires') a.hires = true;
    else if (k === '--only') a.only = new RegExp(val());
    else if (k === '--model') a.model = resolve(val());
    else if (k === '--out') a.out = resolve(val());
    else if (k === '--data') a.data = resolve(val());
    else if (k === '--list') a.list = resolve(val());
    else if (k === '--from') a.from = resolve(val());
    else if (k === '--work') a.work = resolve(val());
    else usage(`unknown argument ${k}`);
  }
  return {
    quick: a.quick!,
    resume: a.resume!,
    hires: a.hires!,
    only: a.only,
    model: a.model ?? join(ROOT, 'resources', 'models', 'default'),
    out: a.out ?? (a.quick ? join(ROOT, 'bench-out', 'quick', 'BENCHMARKS.md') : join(ROOT, 'docs', 'BENCHMARKS.md')),
    data: a.data ?? join(ROOT, 'data', 'dev'),
    list: a.list ?? join(ROOT, 'datasets', 'dev-files.tsv'),
    from: a.from,
    work: a.work,
    argv,
  };
}

/** The development photos, fetched from their Debian packages when the folder is missing or short. */
function ensureData(args: Args, needed: number): void {
  const have = existsSync(args.data) ? readdirSync(args.data).filter((n) => PHOTO.test(n)).length : 0;
  if (have >= needed) return;
  if (!existsSync(args.list)) throw new Error(`${args.data} has ${have} photos and the list ${args.list} to fetch them is missing`);
  process.stderr.write(`bench: fetching the development photos into ${args.data}\n`);
  execFileSync('/usr/bin/python3', [join(ROOT, 'model-training', 'fetch_data.py'), '--list', args.list, '--out', args.data], { stdio: 'inherit', cwd: ROOT });
}

/** A private copy of the model folder (someone may export a newer model during the run). */
function copyModel(modelDir: string, dir: string): string {
  const m = readManifest(modelDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(modelDir, 'manifest.json'), join(dir, 'manifest.json'));
  // Every file the manifest names: graphs, their shared weights, the fp16 variant.
  for (const f of modelFiles(m.manifest)) cpSync(join(modelDir, f.file), join(dir, f.file));
  return dir;
}

/** A copy of the model without its VJP graph: the engine then uses finite differences. */
function forwardOnlyCopy(modelDir: string, dir: string): string {
  const m = readManifest(modelDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));
  delete manifest.graphs.vjp;
  // The benchmark runs on the CPU, which uses fp32; a variant with a VJP graph would also make the
  // forward-only manifest inconsistent.
  delete manifest.variants;
  manifest.name = `${manifest.name ?? 'model'} (forward-only copy)`;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  const forward = m.manifest.graphs.forward;
  for (const f of [{ file: forward.file }, ...forward.externalData]) cpSync(join(modelDir, f.file), join(dir, f.file));
  return dir;
}

function jobKey(job: Job): string {
  if (job.kind === 'restore') return `restore|${job.task}|${job.variant}|${job.imageIndex}|${job.size}|${job.seed}`;
  if (job.kind === 'scaling') return `scaling|${job.size}|${job.withVjp}|${job.fullRun}`;
  return `roofline|${job.sizes.join(',')}|${job.matmul}|${job.rounds}`;
}

/** The plan as child-process jobs; the slowest block (DPS at 1000 steps) last. */
function buildJobs(plan: Plan, model: string, fdModel: string, photos: string[], scratch: string): Job[] {
  const jobs: Job[] = [];
  jobs.push({ kind: 'roofline', model, sizes: plan.roofline.sizes, matmul: plan.roofline.matmul, rounds: plan.roofline.rounds, scratch: join(scratch, 'profile') });
  const restoreJobs = (blocks: Block[]): Job[] => {
    const out: Job[] = [];
    for (const block of blocks)
      for (let i = 0; i < block.images; i++)
        for (const task of block.tasks)
          for (const variant of block.variants)
            out.push({
              kind: 'restore',
              model,
              fdModel,
              image: photos[i]!,
              imageIndex: i,
              size: block.size,
              task,
              variant,
              seed: 1000 + i,
              ...(variant === 'estimate' ? { dump: join(scratch, 'measurements') } : {}),
            });
    return out;
  };
  const slow = (b: Block): boolean => b.variants.some((v) => (variantById(v).steps ?? 0) >= 1000);
  jobs.push(...restoreJobs([...plan.matrix.filter((b) => !slow(b)), ...plan.probe]));
  for (const size of plan.scaling.sizes) jobs.push({ kind: 'scaling', model, size, withVjp: plan.scaling.vjpSizes.includes(size), fullRun: plan.scaling.runSizes.includes(size), seed: 7 });
  jobs.push(...restoreJobs([...plan.hires, ...plan.matrix.filter(slow)]));
  return jobs;
}

/** bench/classical.py over the dumped measurements; its records, or why it failed. */
function runClassical(dump: string): { records: ClassicalRecord[]; error?: string } {
  if (!existsSync(dump)) return { records: [] };
  const tasks = Object.fromEntries(TASKS.map((t) => [t.id, { spec: t.spec }]));
  writeFileSync(join(dump, 'tasks.json'), JSON.stringify(tasks));
  const out = join(dump, 'classical.json');
  process.stderr.write('bench: scikit-image baselines (bench/classical.py)\n');
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'classical.py'), '--dump', dump, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) return { records: [], error: `exit ${r.status}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
  const rows = JSON.parse(readFileSync(out, 'utf8')) as Omit<ClassicalRecord, 'kind'>[];
  return { records: rows.map((x) => ({ kind: 'classical', ...x })) };
}

let current: ReturnType<typeof spawn> | undefined;

function runChild(job: Job): Promise<BenchRecord> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      current = undefined;
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) ok(JSON.parse(last) as BenchRecord);
      else {
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : `exit ${code}`;
        const message = err.split('\n').find((l) => l.trim() && !/^\s+at /.test(l));
        fail(new Error(`${why}: ${message?.trim() ?? '(no message)'}`));
      }
    });
  });
}

/**
 * Peak memory of a scaling run at `size`, projected linearly in pixels from the two largest sizes
 * already measured (forward only, and with the VJP).
 */
export function projectRss(done: ScalingRecord[], size: number): { forward: number; vjp: number } {
  const fit = (pts: { px: number; rss: number }[]): number => {
    if (!pts.length) return 0;
    const [a, b] = pts.slice(-2);
    if (!b) return (a!.rss * (size * size)) / a!.px;
    const slope = (b.rss - a!.rss) / (b.px - a!.px);
    return b.rss + slope * (size * size - b.px);
  };
  const sorted = [...done].sort((x, y) => x.size - y.size);
  return {
    forward: fit(sorted.map((r) => ({ px: r.size * r.size, rss: r.forwardRss }))),
    vjp: fit(sorted.filter((r) => r.withVjp).map((r) => ({ px: r.size * r.size, rss: r.peakRss }))),
  };
}

/**
 * Keeps the scaling runs inside half of the memory available now (the machine is shared): drops
 * the VJP, or the whole size, when the projection says it would not fit. Returns the job to run
 * (or undefined) and a note for the report.
 */
function guardScaling(job: Extract<Job, { kind: 'scaling' }>, done: ScalingRecord[]): { job?: Job; note?: string } {
  if (!done.length) return { job };
  const limit = 0.6 * freemem();
  const p = projectRss(done, job.size);
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (p.forward > limit) return { note: `${job.size}x${job.size} not run: its forward alone is projected to need ${gib(p.forward)}, more than 60% of the ${gib(freemem())} available` };
  if (job.withVjp && p.vjp > limit)
    return {
      job: { ...job, withVjp: false },
      note: `the VJP at ${job.size}x${job.size} was not run: projected to need ${gib(p.vjp)}, more than 60% of the ${gib(freemem())} available`,
    };
  return { job };
}

function describe(job: Job): string {
  if (job.kind === 'restore') return `restore ${job.task} ${job.variant} image ${job.imageIndex + 1} at ${job.size}`;
  if (job.kind === 'scaling') return `scaling ${job.size}x${job.size}${job.withVjp ? ' with VJP' : ''}`;
  return `roofline (GFLOP/s) at ${job.sizes.join(', ')} and MatMul ${job.matmul}`;
}

function summary(r: BenchRecord): string {
  if (r.kind === 'restore') return `${r.psnr.toFixed(2)} dB, ${(r.wallMs / 1000).toFixed(2)} s, ${r.nfe} NFE, ${r.vjps} VJPs`;
  if (r.kind === 'scaling') return `forward ${(r.forwardMs / 1000).toFixed(2)} s${r.withVjp ? `, VJP ${(r.vjpMs / 1000).toFixed(2)} s` : ''}, peak ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`;
  if (r.kind === 'classical') return `${r.method} ${r.psnr.toFixed(2)} dB`;
  return `MatMul ${(r.matmul.flops / r.matmul.ms / 1e6).toFixed(1)} GFLOP/s`;
}

export interface RawResults {
  meta: BenchMeta;
  records: BenchRecord[];
  failures: { job: string; error: string }[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const base = args.quick ? QUICK : FULL;
  const plan: Plan = args.hires ? base : { ...base, hires: [] };
  const outDir = dirname(args.out);
  const imgDir = join(outDir, 'img');
  const scratch = args.work ?? join(ROOT, 'bench-out', plan.name);
  const rawPath = join(scratch, 'raw.json');
  mkdirSync(scratch, { recursive: true });

  if (args.from) {
    const raw = JSON.parse(readFileSync(args.from, 'utf8')) as RawResults;
    const from = raw.meta.plan === 'quick' ? QUICK : FULL;
    await writeReport(args.out, imgDir, raw.meta, args.hires ? from : { ...from, hires: [] }, raw.records, raw.failures);
    process.stderr.write(`bench: wrote ${relative(process.cwd(), args.out)} from ${args.from}\n`);
    return;
  }

  if (!existsSync(join(args.model, 'manifest.json')))
    usage(`no model at ${args.model}. Export one (/usr/bin/python3 model-training/export.py --checkpoint model-training/checkpoint/latest.pt --out resources/models/default) or pass --model DIR`);
  const sourceSha = readManifest(args.model).manifest.graphs.forward.sha256;
  if (args.resume && existsSync(rawPath)) {
    const prev = JSON.parse(readFileSync(rawPath, 'utf8')) as RawResults & { keys?: string[] };
    if (prev.meta.modelSha !== sourceSha || prev.meta.plan !== plan.name || !prev.keys)
      usage(
        `--resume: ${relative(process.cwd(), rawPath)} holds the ${prev.meta.plan} plan on model ${prev.meta.modelSha.slice(0, 12)}, not the ${plan.name} plan on ${sourceSha.slice(0, 12)} (was the model re-exported?); rerun without --resume`,
      );
  }
  const modelCopy = copyModel(args.model, join(scratch, 'model'));
  const model = readManifest(modelCopy);
  await verifyChecksums(model);
  const forwardSha = model.manifest.graphs.forward.sha256;
  const maxImages = Math.max(...[...plan.matrix, ...plan.probe, ...plan.hires].map((b) => b.images));
  ensureData(args, maxImages);
  const photos = pickPhotos(args.data, maxImages);
  snapshotCode(join(scratch, 'code'));
  const fdModel = forwardOnlyCopy(modelCopy, join(scratch, 'model-forward-only'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      current?.kill('SIGKILL');
      process.exit(130);
    });

  const cpu = cpus();
  const meta: BenchMeta = {
    command: `npm run bench${args.argv.length ? ` -- ${args.argv.join(' ')}` : ''}`,
    plan: plan.name,
    started: new Date().toISOString(),
    finished: '',
    durationS: 0,
    invocations: 1,
    cpuModel: cpu[0]?.model ?? 'unknown CPU',
    cores: cpu.length,
    memGiB: totalmem() / 2 ** 30,
    freeGiBStart: freemem() / 2 ** 30,
    loadStart: loadavg(),
    loadEnd: [],
    loadSamples: [],
    node: process.version,
    os: `${process.platform} ${release()}`,
    ort: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version,
    modelDir: relative(ROOT, args.model) || args.model,
    modelName: model.manifest.name ?? '(unnamed)',
    modelParameters: model.manifest.parameters ?? NaN,
    modelProvenance: model.manifest.provenance ?? {},
    modelSha: forwardSha,
    hasVjp: !!model.vjpPath,
    photos: photos.map((p) => p.split('/').pop()!),
    notes: [],
  };

  const jobs = buildJobs(plan, modelCopy, fdModel, photos, scratch);
  const done = new Map<string, BenchRecord>();
  let previousS = 0;
  if (args.resume && existsSync(rawPath)) {
    const prev = JSON.parse(readFileSync(rawPath, 'utf8')) as RawResults & { keys: string[] };
    prev.keys.forEach((k, i) => prev.records[i] && done.set(k, prev.records[i]!));
    previousS = prev.meta.durationS;
    meta.started = prev.meta.started;
    meta.loadSamples = prev.meta.loadSamples;
    meta.loadStart = prev.meta.loadStart;
    meta.invocations = (prev.meta.invocations ?? 1) + 1;
    process.stderr.write(`bench: resuming, ${done.size} earlier runs available\n`);
  }
  const t0 = Date.now();
  const records: BenchRecord[] = [];
  const keys: string[] = [];
  const failures: RawResults['failures'] = [];
  const save = (final = false): void => {
    const all = { meta, failures, ...rawSnapshot(records, keys, done, final) };
    // Atomic: a kill mid-write must not leave a truncated file for the next --resume.
    writeFileSync(`${rawPath}.tmp`, JSON.stringify(all, null, 1));
    renameSync(`${rawPath}.tmp`, rawPath);
  };
  for (const [i, planned] of jobs.entries()) {
    let job = planned;
    if (job.kind === 'scaling' && !done.has(jobKey(job))) {
      const g = guardScaling(
        job,
        records.filter((r): r is ScalingRecord => r.kind === 'scaling'),
      );
      if (g.note) {
        meta.notes.push(g.note);
        process.stderr.write(`bench: ${g.note}\n`);
      }
      if (!g.job) continue;
      job = g.job;
    }
    const key = jobKey(job);
    const prefix = `[${i + 1}/${jobs.length}] ${describe(job)}`;
    let rec = done.get(key);
    if (!rec && args.only && !args.only.test(describe(job))) continue;
    if (rec && args.only?.test(describe(job))) rec = undefined;
    if (rec) {
      process.stderr.write(`${prefix}: reused\n`);
    } else {
      const start = Date.now();
      try {
        rec = await runChild(job);
        process.stderr.write(`${prefix}: ${summary(rec)} (${((Date.now() - start) / 1000).toFixed(1)} s, ${((Date.now() - t0) / 60000).toFixed(1)} min so far)\n`);
      } catch (e) {
        failures.push({ job: describe(job), error: (e as Error).message });
        process.stderr.write(`${prefix}: FAILED ${(e as Error).message}\n`);
      }
      meta.loadSamples.push(loadavg()[0]!);
      meta.durationS = previousS + (Date.now() - t0) / 1000;
    }
    if (rec) {
      records.push(rec);
      keys.push(key);
    }
    save();
  }
  // The scikit-image baselines on the measurements the `estimate` runs dumped.
  const classical = runClassical(join(scratch, 'measurements'));
  if (classical.error) failures.push({ job: 'bench/classical.py', error: classical.error });
  records.push(...classical.records);
  keys.push(...classical.records.map((r) => `classical|${r.task}|${r.imageIndex}|${r.method}`));
  meta.finished = new Date().toISOString();
  meta.durationS = previousS + (Date.now() - t0) / 1000;
  meta.loadEnd = loadavg();
  save(true);
  await writeReport(args.out, imgDir, meta, plan, records, failures);
  process.stderr.write(`bench: wrote ${relative(process.cwd(), args.out)} in ${(meta.durationS / 60).toFixed(1)} min (raw results: ${relative(process.cwd(), rawPath)})\n`);
  if (failures.length) {
    process.stderr.write(`bench: ${failures.length} runs failed (listed in the report)\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
