/**
 * The memory probe without RunAsNode: the service asks main, main starts the built probe entry
 * (out/main/memory-probe.js) as a process of its own and passes the answer back. Here the probe
 * and the service are forked Node children, as main/service-fork.ts hosts them outside Electron;
 * in the app the same entries run as utility processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { JobEvent } from '../../../common/api.js';
import type { FromService, MemoryProbeRequestMessage, ToProbe, ToService } from '../../../common/service-protocol.js';
import { memoryProbeHost, type ProbeProcess } from '../../../main/memory-probe-host.js';
import { ServiceClient, type ServiceProcess } from '../../../main/service-client.js';
import { forkProbe, forkService } from '../../../main/service-fork.js';
import { ROOT, SERVICE_ENTRY, tempDir, TINY_MODEL, until, writeTestPhoto } from '../helpers.js';

const PROBE_ENTRY = join(ROOT, 'out', 'main', 'memory-probe.js');
const manifest = JSON.parse(readFileSync(join(TINY_MODEL, 'manifest.json'), 'utf8')) as { graphs: { forward: { file: string } } };

const request = (over: Partial<MemoryProbeRequestMessage> = {}): MemoryProbeRequestMessage => ({
  graph: join(TINY_MODEL, manifest.graphs.forward.file),
  provider: 'cpu',
  options: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, enableMemPattern: false },
  inputs: { x: 'x', t: 't' },
  channels: 3,
  sizes: [64, 192],
  ...over,
});

/** Counts the real probe processes the host starts. */
function countedFork(): { spawn: () => ProbeProcess; started: number[] } {
  const started: number[] = [];
  return {
    started,
    spawn: () => {
      const p = forkProbe(PROBE_ENTRY);
      started.push(p.pid ?? -1);
      return p;
    },
  };
}

describe('memory probe host (main)', () => {
  it('measures a graph in a fresh probe process and ends it', async () => {
    const { spawn, started } = countedFork();
    const probe = memoryProbeHost(spawn);
    const peaks = await probe(request());
    expect(peaks).toHaveLength(3);
    for (const p of peaks) expect(p).toBeGreaterThan(1e6);
    // The peak grows with the size of the run.
    expect(peaks[2]!).toBeGreaterThanOrEqual(peaks[1]!);
    expect(started).toHaveLength(1);
    await until(() => !isAlive(started[0]!), 5000, 'the probe to end');
  });

  it("reports the probe's own failure in one line", async () => {
    const probe = memoryProbeHost(countedFork().spawn);
    await expect(probe(request({ graph: join(TINY_MODEL, 'missing.onnx') }))).rejects.toThrow(/^memory probe failed: .*missing\.onnx/);
  });

  it('runs one probe at a time', async () => {
    let running = 0;
    let most = 0;
    const probe = memoryProbeHost(() => {
      const p = forkProbe(PROBE_ENTRY);
      running++;
      most = Math.max(most, running);
      p.onExit(() => running--);
      return p;
    });
    const all = await Promise.all([probe(request()), probe(request()), probe(request())]);
    expect(all.map((p) => p.length)).toEqual([3, 3, 3]);
    expect(most).toBe(1);
  });

  it('gives up on a probe that never answers, and on one that dies or talks nonsense', async () => {
    const fake = (behaviour: (p: FakeProbe) => void) => () => {
      const p = new FakeProbe();
      queueMicrotask(() => behaviour(p));
      return p;
    };
    const silent = new FakeProbe();
    await expect(memoryProbeHost(() => silent, 50)(request())).rejects.toThrow(/did not finish in 0 s/);
    expect(silent.killed).toBe(true);
    await expect(memoryProbeHost(fake((p) => p.exit(9)))(request())).rejects.toThrow(/stopped \(exit code 9\)/);
    await expect(memoryProbeHost(fake((p) => p.say({ type: 'peaks', peaks: [1, 'x'] })))(request())).rejects.toThrow(/malformed answer/);
    await expect(memoryProbeHost(fake((p) => p.say({ type: 'peaks', peaks: [1, 2] })))(request())).rejects.toThrow(/2 figures for 2 sizes/);
    await expect(
      memoryProbeHost(() => {
        throw new Error('no utility process');
      })(request()),
    ).rejects.toThrow(/could not be started \(no utility process\)/);
  });
});

describe("the service's memory-probe messages in main", () => {
  class FakeService implements ServiceProcess {
    sent: ToService[] = [];
    message?: (m: unknown) => void;
    exit?: (code: number | null) => void;
    send(msg: ToService): void {
      this.sent.push(msg);
    }
    onMessage(l: (m: unknown) => void): void {
      this.message = l;
    }
    onExit(l: (code: number | null) => void): void {
      this.exit = l;
    }
    kill(): void {
      queueMicrotask(() => this.exit?.(null));
    }
  }

  function setup(probe: (r: MemoryProbeRequestMessage) => Promise<number[]>) {
    const procs: FakeService[] = [];
    const client = new ServiceClient(
      () => {
        const p = new FakeService();
        procs.push(p);
        queueMicrotask(() => p.message?.({ type: 'ready', pid: 1 } satisfies FromService));
        return p;
      },
      { onJob: () => undefined, restartDelayMs: 1, configure: { cacheDir: '/data/cache', memoryProbe: 'main' }, memoryProbe: probe },
    );
    client.start();
    return { client, procs };
  }

  it('configures each new service first, then answers its probe requests', async () => {
    const probe = vi.fn(async (r: MemoryProbeRequestMessage) => r.sizes.map((_, i) => 1000 * (i + 1)).concat(500));
    const { client, procs } = setup(probe);
    await until(() => procs[0]?.sent.length === 1, 1000, 'configure');
    expect(procs[0]!.sent[0]).toEqual({ type: 'configure', cacheDir: '/data/cache', memoryProbe: 'main' });
    procs[0]!.message!({ type: 'memory-probe', requestId: 'm1', request: request() });
    await until(() => procs[0]!.sent.length === 2, 1000, 'answer');
    expect(procs[0]!.sent[1]).toEqual({ type: 'memory-probe-result', requestId: 'm1', ok: true, peaks: [1000, 2000, 500] });
    client.dispose();
  });

  it.each([
    ['a GPU provider (only the CPU is probed)', { provider: 'cuda' }],
    ['a path that is not a string', { graph: 42 }],
    ['too many sizes', { sizes: [64, 128, 192, 256, 320] }],
    ['unknown session options', { options: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, enableMemPattern: false, logId: 'x' } }],
    ['a channel count no model has', { channels: 9 }],
  ])('ignores a request with %s', async (_what, over) => {
    const probe = vi.fn(async () => [1, 2, 3]);
    const { client, procs } = setup(probe);
    await until(() => procs[0]?.sent.length === 1, 1000, 'configure');
    procs[0]!.message!({ type: 'memory-probe', requestId: 'm1', request: { ...request(), ...over } });
    await new Promise((r) => setTimeout(r, 20));
    expect(probe).not.toHaveBeenCalled();
    expect(procs[0]!.sent).toHaveLength(1);
    client.dispose();
  });

  it("passes the probe's failure on, and answers only the process that asked", async () => {
    let finish!: (peaks: number[]) => void;
    const probe = vi.fn((): Promise<number[]> => new Promise((r) => (finish = r)));
    const { client, procs } = setup(async (r) => {
      if (r.channels === 1) throw new Error('memory probe failed: no such graph');
      return probe();
    });
    await until(() => procs[0]?.sent.length === 1, 1000, 'configure');
    procs[0]!.message!({ type: 'memory-probe', requestId: 'm1', request: request({ channels: 1 }) });
    await until(() => procs[0]!.sent.length === 2, 1000, 'failure');
    expect(procs[0]!.sent[1]).toEqual({ type: 'memory-probe-result', requestId: 'm1', ok: false, error: 'memory probe failed: no such graph' });
    procs[0]!.message!({ type: 'memory-probe', requestId: 'm2', request: request() });
    await until(() => probe.mock.calls.length === 1, 1000, 'probe');
    procs[0]!.exit!(1);
    await until(() => procs.length === 2, 1000, 'restart');
    finish([1, 2, 3]);
    await new Promise((r) => setTimeout(r, 20));
    expect(procs[0]!.sent).toHaveLength(2);
    expect(procs[1]!.sent.map((m) => m.type)).toEqual(['configure']);
    client.dispose();
  });
});

describe('a job in the real service, probing through main', () => {
  it("measures the model's memory in a probe process main started, and caches it where main said", async () => {
    const dir = tempDir('memprobe');
    const cacheDir = join(dir, 'app-data', 'cache');
    const photo = await writeTestPhoto(join(dir, 'photo.png'), 32, 24);
    const { spawn, started } = countedFork();
    const events: JobEvent[] = [];
    const client = new ServiceClient(() => forkService(SERVICE_ENTRY), {
      onJob: (e) => events.push(e),
      configure: { cacheDir, memoryProbe: 'main' },
      memoryProbe: memoryProbeHost(spawn),
    });
    try {
      client.enqueue({
        jobId: 'memprobe01',
        imagePath: photo,
        spec: { task: 'denoise', sigmaY: 0.05 },
        solver: { solver: 'vml-map', preset: 'fast', seed: 1 },
        model: { dir: TINY_MODEL, provider: 'cpu' },
        maxPixels: 1e8,
        previewEvery: 0,
        previewMaxSide: 256,
        displayMaxPixels: 1e6,
      });
      await until(() => ['done', 'failed'].includes(events.at(-1)?.type ?? ''), 120_000, 'job');
      expect(events.at(-1)).toMatchObject({ type: 'done' });
      // The forward graph (vml-map's default step rule needs no VJP) was probed by main's process.
      expect(started.length).toBeGreaterThanOrEqual(1);
      expect(readdirSync(cacheDir)).toEqual(['model-memory-v3.json']);
      const cached = JSON.parse(readFileSync(join(cacheDir, 'model-memory-v3.json'), 'utf8')) as Record<string, number>;
      expect(Object.keys(cached).length).toBe(started.length);
      for (const v of Object.values(cached)) expect(v).toBeGreaterThanOrEqual(1);
    } finally {
      client.dispose();
    }
  });
});

class FakeProbe implements ProbeProcess {
  killed = false;
  sent: ToProbe[] = [];
  private message?: (m: unknown) => void;
  private exitListener?: (code: number | null) => void;
  send(msg: ToProbe): void {
    this.sent.push(msg);
  }
  onMessage(l: (m: unknown) => void): void {
    this.message = l;
  }
  onExit(l: (code: number | null) => void): void {
    this.exitListener = l;
  }
  kill(): void {
    this.killed = true;
  }
  say(m: unknown): void {
    this.message?.(m);
  }
  exit(code: number): void {
    this.exitListener?.(code);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
