/**
 * Entry of a memory-probe process: one fresh process per probe, started by main (a utility process
 * under Electron, where the RunAsNode fuse keeps the service from starting Node itself; a forked
 * Node child in tests). It says it is ready, takes one request, measures the graph's peak memory
 * with the engine's own measurePeaks, answers and exits. It never sees pixels.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { safeParse } from '../common/schema.js';
import { type FromProbe, toProbeSchema } from '../common/service-protocol.js';
import { measurePeaks } from '../engine/tiling/memory.js';

ort.env.logLevel = 'fatal';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(msg: FromProbe): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

let started = false;

async function measure(raw: unknown): Promise<void> {
  // One request per process: a second would measure on top of the first one's peak.
  if (started) return;
  started = true;
  const parsed = safeParse(toProbeSchema, raw);
  try {
    if (!parsed.ok) throw new Error(`bad request: ${parsed.error}`);
    post({ type: 'peaks', peaks: await measurePeaks(ort, readFileSync, parsed.value.request) });
  } catch (e) {
    post({ type: 'failed', message: String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 8192) });
  }
  // Main ends the process once it has the answer; this is a backstop should it not.
  setTimeout(() => process.exit(0), 5000);
}

if (parentPort) parentPort.on('message', (e) => void measure(e.data));
else if (process.send) {
  process.on('message', (m) => void measure(m));
  process.on('disconnect', () => process.exit(0));
} else {
  console.error('the memory probe must be started by the app (no parent port or IPC channel)');
  process.exit(2);
}

post({ type: 'ready' });
