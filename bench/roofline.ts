/**
 * How fast onnxruntime runs the model against how fast it can run anything: floating-point
 * operations of the forward and VJP graphs, counted from the graphs at the run's shapes, over the
 * measured time per call, against a large MatMul in the same session options (the ceiling).
 *
 * FLOPs: onnxruntime's profiler reports every node's input and output shapes; with graph
 * optimisations disabled the nodes are the exported graph's own. Counted: Conv, ConvTranspose,
 * MatMul and Gemm, a multiply-add as 2 FLOPs. Element-wise operators (SiLU, additions) are not
 * counted: they move memory rather than compute.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { readManifest } from '../engine/model/manifest.js';
import { sessionOptions } from '../engine/model/providers.js';
import type { Job, OpFlops, OpShare, RooflineRecord } from './config.js';
import { matmulModel, readOnnxGraph } from './onnx-proto.js';

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  ts?: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

export const FLOP_OPS = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'];

const prod = (d: number[]): number => d.reduce((a, b) => a * b, 1);
const dimsOf = (t: Record<string, number[]> | undefined): number[] => (t ? (Object.values(t)[0] ?? []) : []);

/**
 * Shape of a node's input: from the profile when onnxruntime lists it, else from the graph file
 * (weights that onnxruntime pre-packs, e.g. ConvTranspose's and Gemm's, are left out of the profile).
 */
type ShapeOf = (e: ProfileEvent, input: number) => number[] | undefined;

export function graphShapes(path: string): ShapeOf {
  const g = readOnnxGraph(readFileSync(path));
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  return (e, input) => {
    const listed = e.args?.input_type_shape?.[input];
    const node = byName.get((e.name ?? '').replace(/_kernel_time$/, ''));
    // The profile lists only the inputs it has; trust it only when it lists all of the node's.
    if (listed && node && (e.args?.input_type_shape?.length ?? 0) >= node.inputs.filter((x) => x).length) return dimsOf(listed);
    const name = node?.inputs[input];
    const fromGraph = name ? g.shapes.get(name) : undefined;
    if (fromGraph) return fromGraph;
    if (listed && input === 0) return dimsOf(listed);
    return undefined;
  };
}

/** FLOPs of one profiled node: 0 for operators not counted, undefined when shapes are missing. */
export function nodeFlops(e: ProfileEvent, shapeOf: ShapeOf): number | undefined {
  const op = e.args?.op_name;
  if (!op || !FLOP_OPS.includes(op)) return 0;
  const out = dimsOf(e.args?.output_type_shape?.[0]);
  const x = shapeOf(e, 0);
  if (!out.length || !x) return undefined;
  switch (op) {
    case 'Conv': {
      // weight [Cout, Cin/group, kh, kw]: each output element is a dot product of Cin/group*kh*kw.
      const w = shapeOf(e, 1);
      return w ? 2 * prod(out) * prod(w.slice(1)) : undefined;
    }
    case 'ConvTranspose': {
      // weight [Cin, Cout/group, kh, kw]: each input element scatters into Cout/group*kh*kw outputs.
      const w = shapeOf(e, 1);
      return w ? 2 * prod(x) * prod(w.slice(1)) : undefined;
    }
    case 'MatMul':
      return 2 * prod(out) * (x[x.length - 1] ?? 1);
    default:
      // Gemm: A is [M, K] or [K, M] and the output [M, N].
      return 2 * prod(out) * (prod(x) / (out[0] ?? 1));
  }
}

function countFlops(events: ProfileEvent[], path: string): { flops: number; uncounted: number; byOp: OpFlops[] } {
  const shapeOf = graphShapes(path);
  let flops = 0;
  let uncounted = 0;
  const byOp = new Map<string, number>();
  for (const e of events) {
    const v = nodeFlops(e, shapeOf);
    if (v === undefined) uncounted++;
    else {
      flops += v;
      if (v > 0) byOp.set(e.args!.op_name!, (byOp.get(e.args!.op_name!) ?? 0) + v);
    }
  }
  return { flops, uncounted, byOp: [...byOp.entries()].map(([op, f]) => ({ op, flops: f })) };
}

function readProfile(dir: string, prefix: string): ProfileEvent[] {
  const f = readdirSync(dir).find((n) => n.startsWith(prefix) && n.endsWith('.json'));
  if (!f) throw new Error(`onnxruntime wrote no profile ${prefix}*.json in ${dir}`);
  return JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProfileEvent[];
}

function feedsFor(size: number, inputs: Record<string, string>): Record<string, ort.Tensor> {
  const names = { x: inputs.x ?? 'x', t: inputs.t ?? 't', v: inputs.v };
  const n = 3 * size * size;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.37) * 0.8;
  const feeds: Record<string, ort.Tensor> = {
    [names.x]: new ort.Tensor('float32', x, [1, 3, size, size]),
    [names.t]: new ort.Tensor('float32', Float32Array.of(200), [1]),
  };
  if (names.v)
    feeds[names.v] = new ort.Tensor(
      'float32',
      x.map((v) => -v),
      [1, 3, size, size],
    );
  return feeds;
}

/** Runs `path` once with profiling on (optimisations as given) and returns the node events. */
async function profiled(path: string, feeds: Record<string, ort.Tensor>, scratch: string, tag: string, optimized: boolean, runs: number): Promise<ProfileEvent[]> {
  const opts: ort.InferenceSession.SessionOptions = {
    ...sessionOptions('cpu'),
    enableProfiling: true,
    profileFilePrefix: join(scratch, tag),
  };
  if (!optimized) opts.graphOptimizationLevel = 'disabled';
  const s = await ort.InferenceSession.create(path, opts);
  for (let k = 0; k < runs; k++) await s.run(feeds);
  s.endProfiling();
  await s.release();
  const events = readProfile(scratch, tag);
  // Node events of the last run only (the first run includes one-off allocations).
  const runsEv = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const last = runsEv[runsEv.length - 1];
  const nodes = events.filter((e) => e.cat === 'Node' && (e.name ?? '').endsWith('_kernel_time'));
  if (!last || last.ts === undefined || last.dur === undefined) return nodes;
  return nodes.filter((e) => (e.ts ?? 0) >= last.ts! && (e.ts ?? 0) <= last.ts! + last.dur!);
}

function byOp(events: ProfileEvent[]): OpShare[] {
  const m = new Map<string, number>();
  for (const e of events) {
    const op = e.args?.op_name ?? '?';
    m.set(op, (m.get(op) ?? 0) + (e.dur ?? 0) / 1000);
  }
  return [...m.entries()].map(([op, ms]) => ({ op, ms })).sort((a, b) => b.ms - a.ms);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function roofline(job: Extract<Job, { kind: 'roofline' }>): Promise<RooflineRecord> {
  const model = readManifest(job.model);
  const g = model.manifest.graphs;
  const scratch = job.scratch;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });

  // FLOPs from the unoptimised graphs' profiled shapes.
  const flops: { size: number; forwardFlops: number; vjpFlops: number }[] = [];
  let uncounted = 0;
  let flopsForward: OpFlops[] = [];
  let flopsVjp: OpFlops[] = [];
  for (const size of job.sizes) {
    const fwdFeeds = feedsFor(size, g.forward.inputs);
    const fe = countFlops(await profiled(model.forwardPath, fwdFeeds, scratch, `flops-fwd-${size}-`, false, 1), model.forwardPath);
    let vjpFlops = NaN;
    if (model.vjpPath && g.vjp) {
      const ve = countFlops(await profiled(model.vjpPath, feedsFor(size, g.vjp.inputs), scratch, `flops-vjp-${size}-`, false, 1), model.vjpPath);
      vjpFlops = ve.flops;
      uncounted += ve.uncounted;
      if (size === job.sizes[0]) flopsVjp = ve.byOp;
    }
    uncounted += fe.uncounted;
    if (size === job.sizes[0]) flopsForward = fe.byOp;
    flops.push({ size, forwardFlops: fe.flops, vjpFlops });
  }

  // Time per operator type in the optimised graphs (what the engine runs).
  const s0 = job.sizes[0]!;
  const opsForward = byOp(await profiled(model.forwardPath, feedsFor(s0, g.forward.inputs), scratch, 'ops-fwd-', true, 3));
  const opsVjp = model.vjpPath && g.vjp ? byOp(await profiled(model.vjpPath, feedsFor(s0, g.vjp.inputs), scratch, 'ops-vjp-', true, 3)) : [];

  // Timing with the engine's own session options, interleaved so that load changes hit all alike.
  const mmPath = join(scratch, 'matmul.onnx');
  writeFileSync(mmPath, matmulModel(job.matmul));
  const mm = await ort.InferenceSession.create(mmPath, sessionOptions('cpu'));
  const nn = job.matmul * job.matmul;
  const a = new Float32Array(nn);
  for (let i = 0; i < nn; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const mmFeeds = { A: new ort.Tensor('float32', a, [job.matmul, job.matmul]), B: new ort.Tensor('float32', a, [job.matmul, job.matmul]) };
  const fwd = await ort.InferenceSession.create(model.forwardPath, sessionOptions('cpu'));
  const vjp = model.vjpPath ? await ort.InferenceSession.create(model.vjpPath, sessionOptions('cpu')) : undefined;
  const timed = async (s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> => {
    const t0 = performance.now();
    await s.run(feeds);
    return performance.now() - t0;
  };
  const sizeFeeds = job.sizes.map((size) => ({
    fwd: feedsFor(size, g.forward.inputs),
    vjp: vjp && g.vjp ? feedsFor(size, g.vjp.inputs) : undefined,
  }));
  // Warm-up: the first run of each shape allocates.
  await mm.run(mmFeeds);
  for (const f of sizeFeeds) {
    await fwd.run(f.fwd);
    if (vjp && f.vjp) await vjp.run(f.vjp);
  }
  const mmT: number[] = [];
  const fT = job.sizes.map(() => [] as number[]);
  const vT = job.sizes.map(() => [] as number[]);
  for (let r = 0; r < job.rounds; r++) {
    mmT.push(await timed(mm, mmFeeds));
    for (const [i, f] of sizeFeeds.entries()) {
      fT[i]!.push(await timed(fwd, f.fwd));
      if (vjp && f.vjp) vT[i]!.push(await timed(vjp, f.vjp));
    }
  }
  await mm.release();
  await fwd.release();
  await vjp?.release();
  rmSync(scratch, { recursive: true, force: true });
  return {
    kind: 'roofline',
    graphs: flops.map((f, i) => ({ ...f, forwardMs: median(fT[i]!), vjpMs: vT[i]!.length ? median(vT[i]!) : NaN })),
    matmul: { n: job.matmul, flops: 2 * job.matmul ** 3, ms: median(mmT) },
    opsForward,
    opsVjp,
    flopOps: FLOP_OPS,
    flopsForward,
    flopsVjp,
    uncounted,
  };
}
