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
import { measurePeaks } from '../engine/model/memory.js';
import { listenToParent, postToParent } from './parent.js';

ort.env.logLevel = 'fatal';

const post = (msg: FromProbe): void => postToParent(msg);

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
    post({
      type: 'failed',
      message: String((e as Error)?.message ?? e)
        .split('\n')[0]!
        .slice(0, 8192),
    });
  }
  // Main ends the process once it has the answer; this is a backstop should it not.
  setTimeout(() => process.exit(0), 5000);
}

listenToParent('the memory probe', (m) => void measure(m));

post({ type: 'ready' });
