/**
 * Main's side of the memory probe (engine/model/memory.ts). The packaged app's Electron binary
 * has the RunAsNode fuse off, so the inference service cannot start a fresh Node for the probe;
 * it asks main, which starts service/memory-probe.ts as a process of its own (a utility process
 * in the app), hands it the request, and passes its answer back. The probe has no pixels.
 */
import { safeParse } from '../common/schema.js';
import { fromProbeSchema, type MemoryProbeRequestMessage, type ToProbe } from '../common/service-protocol.js';

/** A started probe process, whatever hosts it (utility process, forked Node child, a fake). */
export interface ProbeProcess {
  send(msg: ToProbe): void;
  onMessage(listener: (msg: unknown) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

/** The same limit as the engine's own Node runner has. */
export const PROBE_TIMEOUT_MS = 300_000;

/**
 * A function that runs one probe per call in a fresh process, one at a time: the service asks for
 * one per graph and job, and a flood of requests (a service gone wrong) must not become a flood
 * of processes.
 */
export function memoryProbeHost(spawn: () => ProbeProcess, timeoutMs = PROBE_TIMEOUT_MS): (request: MemoryProbeRequestMessage) => Promise<number[]> {
  let queue: Promise<unknown> = Promise.resolve();
  return (request) => {
    const started = queue.then(() => probeOnce(spawn, request, timeoutMs));
    // The next probe waits until this one's process is gone, not only until it has answered.
    queue = started.then((p) => p.gone);
    return started.then((p) => p.answer);
  };
}

/** How long a killed probe may take to go before the next one starts anyway. */
const EXIT_GRACE_MS = 5000;

function probeOnce(spawn: () => ProbeProcess, request: MemoryProbeRequestMessage, timeoutMs: number): { answer: Promise<number[]>; gone: Promise<void> } {
  let child: ProbeProcess;
  try {
    child = spawn();
  } catch (e) {
    return { answer: Promise.reject(new Error(`the memory probe could not be started (${(e as Error).message})`)), gone: Promise.resolve() };
  }
  let exited!: () => void;
  const gone = new Promise<void>((resolve) => (exited = resolve));
  const answer = new Promise<number[]>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, peaks?: number[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      setTimeout(exited, EXIT_GRACE_MS);
      if (error) reject(error);
      else resolve(peaks!);
    };
    const timer = setTimeout(() => settle(new Error(`the memory probe did not finish in ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    child.onExit((code) => {
      settle(new Error(`the memory probe stopped (exit code ${code}) before it answered`));
      exited();
    });
    child.onMessage((raw) => {
      const parsed = safeParse(fromProbeSchema, raw);
      if (!parsed.ok) return settle(new Error(`the memory probe sent a malformed answer: ${parsed.error}`));
      const msg = parsed.value;
      if (msg.type === 'ready') child.send({ type: 'measure', request });
      else if (msg.type === 'failed') settle(new Error(`memory probe failed: ${msg.message}`));
      else if (msg.peaks.length !== request.sizes.length + 1) settle(new Error(`the memory probe sent ${msg.peaks.length} figures for ${request.sizes.length} sizes`));
      else settle(undefined, msg.peaks);
    });
  });
  return { answer, gone };
}
