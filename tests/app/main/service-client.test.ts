/**
 * Supervision of the inference service with a scripted fake process: one job at a time, queue
 * order, cancellation, and what happens when the process dies (the job fails with a message, the
 * service is started again, queued work continues on the new process).
 */
import { describe, expect, it, vi } from 'vitest';
import type { JobEvent, ServiceState } from '../../../common/api.js';
import type { FromService, RunMessage, ToService } from '../../../common/service-protocol.js';
import { ServiceClient, type ServiceProcess, ServiceStoppedError } from '../../../main/service-client.js';
import { until } from '../helpers.js';

class FakeProcess implements ServiceProcess {
  sent: ToService[] = [];
  killed = false;
  private message?: (m: unknown) => void;
  private exit?: (code: number | null, signal?: string | null) => void;
  send(msg: ToService): void {
    this.sent.push(msg);
  }
  onMessage(l: (m: unknown) => void): void {
    this.message = l;
  }
  onExit(l: (code: number | null, signal?: string | null) => void): void {
    this.exit = l;
  }
  kill(): void {
    this.killed = true;
    queueMicrotask(() => this.exit?.(null, 'SIGKILL'));
  }
  reply(m: FromService | Record<string, unknown>): void {
    this.message?.(m);
  }
  crash(code = 134): void {
    this.exit?.(code, null);
  }
  get runs(): RunMessage[] {
    return this.sent.filter((m): m is RunMessage => m.type === 'run');
  }
}

function setup(opts: { readyOnSpawn?: boolean; cancelGraceMs?: number; maxRestarts?: number } = {}) {
  const procs: FakeProcess[] = [];
  const events: JobEvent[] = [];
  const states: [ServiceState, string | undefined][] = [];
  const client = new ServiceClient(
    () => {
      const p = new FakeProcess();
      procs.push(p);
      if (opts.readyOnSpawn !== false) queueMicrotask(() => p.reply({ type: 'ready', pid: 100 + procs.length }));
      return p;
    },
    {
      onJob: (e) => events.push(e),
      onState: (s, m) => states.push([s, m]),
      restartDelayMs: 1,
      cancelGraceMs: opts.cancelGraceMs ?? 50,
      maxRestarts: opts.maxRestarts ?? 3,
    },
  );
  return { client, procs, events, states };
}

const job = (jobId: string): Omit<RunMessage, 'type'> => ({
  jobId,
  imagePath: '/tmp/x.png',
  spec: { task: 'denoise', sigmaY: 0.02 },
  solver: { solver: 'vml-map', preset: 'fast', seed: 0 },
  model: { dir: '/models/m', provider: 'cpu' },
  maxPixels: 1e8,
  previewEvery: 2,
  previewMaxSide: 256,
  displayMaxPixels: 1e6,
});

const stats = { nfe: 1, vjps: 1, wallMs: 1, onnxMs: 1, approximateVjp: false };
const done = (jobId: string): FromService => ({
  type: 'done',
  jobId,
  width: 1,
  height: 1,
  image: { width: 1, height: 1, data: new Uint8ClampedArray(4) },
  stats,
  operator: 'identity',
  provider: 'cpu',
  precision: 'fp32',
});

describe('ServiceClient', () => {
  it('runs queued jobs one at a time, in order', async () => {
    const { client, procs, events } = setup();
    client.enqueue(job('a0000001'));
    client.enqueue(job('b0000002'));
    expect(events.map((e) => [e.type, (e as { position?: number }).position])).toEqual([
      ['queued', 0],
      ['queued', 1],
    ]);
    await until(() => procs[0]?.runs.length === 1, 1000, 'first run');
    expect(procs[0]!.runs.map((r) => r.jobId)).toEqual(['a0000001']);
    procs[0]!.reply({ type: 'progress', jobId: 'a0000001', step: 1, total: 2, elapsedMs: 5, etaMs: 5 });
    procs[0]!.reply(done('a0000001'));
    expect(procs[0]!.runs.map((r) => r.jobId)).toEqual(['a0000001', 'b0000002']);
    procs[0]!.reply({ type: 'failed', jobId: 'b0000002', message: 'bad mask' });
    expect(events.map((e) => e.type)).toEqual(['queued', 'queued', 'progress', 'done', 'failed']);
    expect(procs).toHaveLength(1);
    client.dispose();
  });

  it('fails the running job with a message when the service dies, restarts it, and goes on', async () => {
    const { client, procs, events, states } = setup();
    client.enqueue(job('a0000001'));
    client.enqueue(job('b0000002'));
    await until(() => procs[0]?.runs.length === 1, 1000, 'first run');
    const pending = client.request({ type: 'probe', dir: '/models/m' });
    procs[0]!.crash(139);
    await expect(pending).rejects.toThrow(/stopped \(exit code 139\)/);
    const failed = events.find((e) => e.type === 'failed') as Extract<JobEvent, { type: 'failed' }>;
    expect(failed.jobId).toBe('a0000001');
    expect(failed.message).toMatch(/restoration service stopped \(exit code 139\) before the job finished.*restarted/);
    expect(states.map((s) => s[0])).toContain('restarting');
    await until(() => procs[1]?.runs.length === 1, 1000, 'restart');
    expect(procs[1]!.runs[0]!.jobId).toBe('b0000002');
    expect(states.at(-1)![0]).toBe('ready');
    procs[1]!.reply(done('b0000002'));
    expect(events.at(-1)).toMatchObject({ type: 'done', jobId: 'b0000002' });
    client.dispose();
  });

  it('ignores messages of a dead process and malformed messages', async () => {
    const { client, procs, events } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    client.enqueue(job('a0000001'));
    await until(() => procs[0]?.runs.length === 1, 1000, 'run');
    procs[0]!.reply({ type: 'progress', jobId: 'a0000001', step: 'x' });
    procs[0]!.reply({ type: 'nonsense' });
    procs[0]!.reply(null as never);
    procs[0]!.reply({ type: 'done', jobId: 'a0000001' });
    expect(events.map((e) => e.type)).toEqual(['queued']);
    expect(spy).toHaveBeenCalled();
    procs[0]!.crash();
    procs[0]!.reply(done('a0000001'));
    expect(events.map((e) => e.type)).toEqual(['queued', 'failed']);
    spy.mockRestore();
    client.dispose();
  });

  it('answers display and mask requests with their own validated messages, and fails them when the service dies', async () => {
    const { client, procs } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const identity = { dev: '2049', ino: '131' };
    const shown = client.ask<'display'>({ type: 'display', path: '/p/a.tif', identity, name: 'a.tif', maxPixels: 1e8 });
    const mask = client.ask<'read-mask'>({ type: 'read-mask', path: '/p/m.png', width: 2, height: 1 });
    await until(() => (procs[0]?.sent.length ?? 0) === 2, 1000, 'requests');
    const [d, m] = procs[0]!.sent as Extract<ToService, { type: 'display' | 'read-mask' }>[];
    expect(d).toEqual({ type: 'display', requestId: d!.requestId, path: '/p/a.tif', identity, name: 'a.tif', maxPixels: 1e8 });
    // Malformed answers are dropped: a PNG that is not bytes, a mask that is not a Uint8Array.
    procs[0]!.reply({ type: 'display-copy', requestId: d!.requestId, png: 'not bytes' });
    procs[0]!.reply({ type: 'mask', requestId: m!.requestId, mask: [1, 0] });
    procs[0]!.reply({ type: 'mask', requestId: m!.requestId, mask: new Uint8Array([1, 0]) });
    expect(await mask).toEqual({ type: 'mask', requestId: m!.requestId, mask: new Uint8Array([1, 0]) });
    procs[0]!.crash(134);
    await expect(shown).rejects.toThrow(ServiceStoppedError);
    await expect(shown).rejects.toThrow(/^the restoration service stopped \(exit code 134\)$/);
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
    client.dispose();
  });

  it('cancels a queued job without sending it', async () => {
    const { client, procs, events } = setup();
    client.enqueue(job('a0000001'));
    client.enqueue(job('b0000002'));
    expect(client.cancel('b0000002')).toBe(true);
    expect(client.cancel('zzzzzzzz')).toBe(false);
    await until(() => procs[0]?.runs.length === 1, 1000, 'run');
    procs[0]!.reply(done('a0000001'));
    expect(procs[0]!.runs.map((r) => r.jobId)).toEqual(['a0000001']);
    expect(events.filter((e) => e.type === 'cancelled').map((e) => e.jobId)).toEqual(['b0000002']);
    client.dispose();
  });

  it('asks a running job to stop, and replaces a service that does not', async () => {
    const { client, procs, events } = setup({ cancelGraceMs: 30 });
    client.enqueue(job('a0000001'));
    await until(() => procs[0]?.runs.length === 1, 1000, 'run');
    client.cancel('a0000001');
    expect(procs[0]!.sent.at(-1)).toEqual({ type: 'cancel', jobId: 'a0000001' });
    // The fake never answers: after the grace period the process is killed.
    await until(() => procs[0]!.killed, 1000, 'kill');
    await until(() => events.some((e) => e.type === 'cancelled'), 1000, 'cancelled');
    expect(events.some((e) => e.type === 'failed')).toBe(false);
    await until(() => procs.length === 2, 1000, 'restart');
    client.dispose();
  });

  it('stops restarting a service that keeps dying, and starts again on the next job', async () => {
    const { client, procs, events, states } = setup({ maxRestarts: 2 });
    client.start();
    for (let i = 0; i < 3; i++) {
      await until(() => procs.length === i + 1, 1000, `spawn ${i}`);
      procs[i]!.crash(1);
    }
    expect(states.at(-1)).toEqual(['down', expect.stringMatching(/repeatedly/)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(procs).toHaveLength(3);
    client.enqueue(job('c0000003'));
    await until(() => procs[3]?.runs.length === 1, 1000, 'fresh start');
    procs[3]!.reply(done('c0000003'));
    expect(events.at(-1)!.type).toBe('done');
    client.dispose();
  });

  it('reports a spawn failure like a crash: the queued job fails with the reason, retries stop, the state says so', async () => {
    let calls = 0;
    const events: JobEvent[] = [];
    const states: [ServiceState, string | undefined][] = [];
    const client = new ServiceClient(
      () => {
        calls++;
        throw new Error('no such file');
      },
      { onJob: (e) => events.push(e), onState: (st, m) => states.push([st, m]), restartDelayMs: 1, maxRestarts: 1 },
    );
    client.enqueue(job('spawn0001'));
    await until(() => states.at(-1)?.[0] === 'down', 1000, 'down');
    // One start and one restart, then it stops trying.
    expect(calls).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['queued', 'failed']);
    expect(events[1]).toMatchObject({ jobId: 'spawn0001', message: 'The restoration service keeps stopping (could not be started (no such file)).' });
    expect(states.at(-1)![1]).toMatch(/could not be started \(no such file\) repeatedly/);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(2);
    client.dispose();
  });
});
