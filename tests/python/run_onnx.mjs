// Runs ONNX graphs under onnxruntime-node for the Python checks (tests/python, model-training/export.py).
//
//   node tests/python/run_onnx.mjs spec.json
//
// spec.json: {"threads": 1, "jobs": [{"model": "eps.onnx",
//              "inputs": {"x": {"file": "x.f32", "dims": [1, 3, 8, 8]}, ...},
//              "outputs": {"eps": "eps.f32"}}, ...]}
// Inputs and outputs are raw little-endian float32 files (C order). Prints one JSON line to stdout:
// {"jobs": [{"outputs": {"eps": {"file": "eps.f32", "dims": [1, 3, 8, 8]}}}, ...]}.
// A job may name the same model as an earlier one: its session is reused.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ort = createRequire(join(root, 'package.json'))('onnxruntime-node');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const threads = spec.threads ?? 1;
const sessions = new Map();
const results = [];
for (const job of spec.jobs) {
  let session = sessions.get(job.model);
  if (!session) {
    session = await ort.InferenceSession.create(job.model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    sessions.set(job.model, session);
  }
  const feeds = {};
  for (const [name, { file, dims }] of Object.entries(job.inputs)) {
    const buf = readFileSync(file);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`${file}: ${data.length} floats, dims ${JSON.stringify(dims)} need ${n}`);
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  const out = await session.run(feeds);
  const outputs = {};
  for (const [name, file] of Object.entries(job.outputs)) {
    const tensor = out[name];
    if (!tensor) throw new Error(`${job.model}: no output named ${name} (has ${Object.keys(out).join(', ')})`);
    writeFileSync(file, Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    outputs[name] = { file, dims: Array.from(tensor.dims) };
  }
  results.push({ outputs });
}
process.stdout.write(JSON.stringify({ jobs: results }) + '\n');
