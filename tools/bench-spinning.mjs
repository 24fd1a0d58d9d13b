// Times the default model's forward pass at 256x256 with onnxruntime thread spinning on (1) or off (0).
// node tools/bench-spinning.mjs 0|1
import * as ort from 'onnxruntime-node';
const spin = process.argv[2];
const s = await ort.InferenceSession.create('resources/models/default/eps.onnx', { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: spin } } } });
const x = new ort.Tensor('float32', new Float32Array(3*256*256).fill(0.1), [1,3,256,256]);
const t = new ort.Tensor('float32', Float32Array.of(500), [1]);
await s.run({x, t});
const ts=[];
for (let i=0;i<6;i++){ const t0=performance.now(); await s.run({x,t}); ts.push(performance.now()-t0); }
ts.sort((a,b)=>a-b);
console.log('spinning', spin, 'median ms', ts[3].toFixed(0), 'min', ts[0].toFixed(0));
