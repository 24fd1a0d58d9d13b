/**
 * The IPC boundary: requests from anything but our own top frame are refused, malformed payloads
 * are rejected with a message, and no input makes a handler throw or reach the backend.
 */
import { describe, expect, it, type Mock, vi } from 'vitest';
import { type Handlers, type Method, REQUESTS, requestMethods } from '../../../common/api.js';
import { dispatch, type IpcMainLike, registerIpc } from '../../../main/ipc.js';
import { isTrustedSender, type SenderEvent } from '../../../main/security.js';
import { UserError } from '../../../engine/types.js';

type FakeHandlers = { [M in Method]: Mock<Handlers[M]> };

function fakeHandlers(): FakeHandlers {
  const h: Record<string, Mock> = {};
  for (const m of Object.keys(REQUESTS)) h[m] = vi.fn(async () => `${m}-ok`);
  return h as unknown as FakeHandlers;
}

function fakeIpc(): IpcMainLike & { listeners: Map<string, (e: SenderEvent, ...a: unknown[]) => unknown> } {
  const listeners = new Map<string, (e: SenderEvent, ...a: unknown[]) => unknown>();
  return { listeners, handle: (c, l) => void listeners.set(c, l), removeHandler: (c) => void listeners.delete(c) };
}

const ours: SenderEvent = { sender: { id: 1 }, senderFrame: { url: 'app://renderer/index.html', parent: null } };
const trusted = (e: SenderEvent): boolean => isTrustedSender(e, new Set([1]), ['app://renderer']);

const valid: { [M in Method]: unknown } = {
  getState: undefined,
  setSettings: { theme: 'dark' },
  openDialog: undefined,
  openPath: { path: '/home/me/photo.png' },
  openBytes: { name: 'a.png', bytes: new Uint8Array([1, 2, 3]) },
  openRecent: { index: 0 },
  run: {
    jobId: 'abcdefgh1234',
    imageId: 'abcdefghijklmnop',
    spec: { task: 'deblur', sigmaY: 0.01, kernel: { type: 'motion', length: 9, angle: 30 } },
    solver: { solver: 'vml-map', preset: 'fast', seed: 1 },
  },
  cancel: { jobId: 'abcdefgh1234' },
  exportResult: { jobId: 'abcdefgh1234', format: 'webp', quality: 90 },
  importMask: { width: 10, height: 20 },
  exportMask: { imageId: 'abcdefghijklmnop', width: 2, height: 2, mask: new Uint8Array(4) },
  detectDamage: { imageId: 'abcdefghijklmnop', sensitivity: 0.5 },
  estimate: { imageId: 'abcdefghijklmnop', sensitivity: 0.5, mask: new Uint8Array(4) },
  useResult: { jobId: 'abcdefgh1234' },
  runImage: { jobId: 'abcdefgh1234' },
  discardRun: { jobId: 'abcdefgh1234' },
  probeDevices: undefined,
  chooseModel: undefined,
  useBundledModel: undefined,
  saveSession: {
    imageId: 'abcdefghijklmnop',
    task: { spec: { task: 'inpaint', sigmaY: 0.01 }, solver: { solver: 'vml-fp', preset: 'fast', seed: 0 } },
    mask: new Uint8Array([0, 255, 128, 0]),
    result: {
      jobId: 'abcdefgh1234',
      width: 2,
      height: 2,
      spec: { task: 'inpaint', sigmaY: 0.01 },
      stats: { nfe: 10, vjps: 0, wallMs: 100, onnxMs: 80, approximateVjp: false },
      operator: 'mask',
      provider: 'cpu',
      precision: 'fp32',
    },
    running: false,
  },
  clearSession: undefined,
  getSession: undefined,
  restoreSession: undefined,
  answerClose: { answer: 'asking' },
  batchState: undefined,
  batchAddFiles: undefined,
  batchAddFolder: undefined,
  batchChooseOutput: undefined,
  batchRemove: { index: 2 },
  batchClear: undefined,
  batchStart: { spec: { task: 'denoise', sigmaY: 0.05 }, solver: { solver: 'vml-fp', preset: 'fast', seed: 0 }, suffix: '-restored', format: 'same', stripGps: false },
  batchPause: { paused: true },
  batchCancel: undefined,
};

describe('sender validation', () => {
  it('accepts our window top frame on our origin', () => {
    expect(trusted(ours)).toBe(true);
  });

  it.each<[string, SenderEvent]>([
    ['another web contents', { ...ours, sender: { id: 2 } }],
    ['a subframe', { ...ours, senderFrame: { url: 'app://renderer/index.html', parent: {} } }],
    ['a destroyed frame', { ...ours, senderFrame: null }],
    ['a remote page', { ...ours, senderFrame: { url: 'https://evil.example/', parent: null } }],
    ['a file:// page', { ...ours, senderFrame: { url: 'file:///home/me/evil.html', parent: null } }],
    ['a look-alike host', { ...ours, senderFrame: { url: 'app://renderer.evil/index.html', parent: null } }],
    ['data: URL', { ...ours, senderFrame: { url: 'data:text/html,hi', parent: null } }],
    ['an unparsable URL', { ...ours, senderFrame: { url: '::::', parent: null } }],
  ])('refuses %s', async (_what, event) => {
    expect(trusted(event)).toBe(false);
    const ipc = fakeIpc();
    const handlers = fakeHandlers();
    registerIpc(ipc, handlers, trusted);
    const reply = await ipc.listeners.get(REQUESTS.getState.channel)!(event);
    expect(reply).toEqual({ ok: false, error: 'refused: untrusted sender' });
    expect(handlers.getState).not.toHaveBeenCalled();
  });
});

describe('request validation', () => {
  it('registers one handler per request and passes valid payloads through', async () => {
    const ipc = fakeIpc();
    const handlers = fakeHandlers();
    const unregister = registerIpc(ipc, handlers, trusted);
    expect([...ipc.listeners.keys()].sort()).toEqual(
      Object.values(REQUESTS)
        .map((r) => r.channel)
        .sort(),
    );
    for (const m of Object.keys(REQUESTS) as Method[]) {
      const reply = await ipc.listeners.get(REQUESTS[m].channel)!(ours, valid[m]);
      expect(reply, m).toEqual({ ok: true, value: `${m}-ok` });
      expect(handlers[m]).toHaveBeenCalledTimes(1);
    }
    unregister();
    expect(ipc.listeners.size).toBe(0);
  });

  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const throwing = Object.defineProperty({}, 'path', {
    enumerable: true,
    get: () => {
      throw new Error('boom');
    },
  });
  const proxy = new Proxy(
    {},
    {
      ownKeys: () => {
        throw new Error('trap');
      },
    },
  );

  it.each<[Method, unknown]>([
    ['openPath', undefined],
    ['openPath', null],
    ['openPath', 'just a string'],
    ['openPath', { path: 42 }],
    ['openPath', { path: '' }],
    ['openPath', { path: 'a'.repeat(5000) }],
    ['openPath', { path: '/x\0.png' }],
    ['openPath', { path: '/x.png', extra: 1 }],
    ['openPath', JSON.parse('{"path": "/x.png", "__proto__": {"polluted": true}}')],
    ['openPath', throwing],
    ['openPath', proxy],
    ['openPath', circular],
    ['openPath', [{ path: '/x.png' }]],
    ['openRecent', { index: -1 }],
    ['openRecent', { index: 1.5 }],
    ['openRecent', { index: Number.NaN }],
    ['openRecent', { index: '0' }],
    ['openBytes', { name: 'a.png', bytes: [1, 2, 3] }],
    ['openBytes', { name: 'a.png', bytes: new Uint8Array(0) }],
    ['openBytes', { name: 'a.png', bytes: 'AAAA' }],
    ['setSettings', { theme: 'purple' }],
    ['setSettings', { brushSize: 1e9 }],
    ['setSettings', { overlayOpacity: Infinity }],
    ['setSettings', { task: { spec: { task: 'inpaint' }, solver: {} } }],
    ['setSettings', { constructor: { prototype: {} } }],
    ['getState', { unexpected: true }],
    ['run', {}],
    ['run', { ...(valid.run as object), jobId: '../../etc' }],
    ['run', { ...(valid.run as object), spec: { task: 'sharpen', sigmaY: 0 } }],
    ['run', { ...(valid.run as object), spec: { task: 'sr', sigmaY: 0.01, scale: 8 } }],
    ['run', { ...(valid.run as object), spec: { task: 'deblur', sigmaY: -1 } }],
    ['run', { ...(valid.run as object), spec: { task: 'deblur', sigmaY: 0.01, kernel: { type: 'matrix', rows: [[1, 'x']] } } }],
    ['run', { ...(valid.run as object), spec: { task: 'deblur', sigmaY: 0.01, kernel: { type: 'other' } } }],
    ['run', { ...(valid.run as object), solver: { solver: 'vml-map', preset: 'fast', seed: 1, steps: 0 } }],
    ['run', { ...(valid.run as object), solver: { solver: 'vml-map', preset: 'ultra', seed: 1 } }],
    ['run', { ...(valid.run as object), mask: new Float64Array(4) }],
    ['cancel', { jobId: 5 }],
    ['exportResult', { jobId: 'abcdefgh1234', format: 'gif', quality: 90 }],
    ['exportResult', { jobId: 'abcdefgh1234', format: 'png', quality: 101 }],
    ['importMask', { width: 0, height: 10 }],
    ['exportMask', { imageId: 'abcdefghijklmnop', width: 2, height: 2, mask: new Uint16Array(4) }],
    ['run', { ...(valid.run as object), spec: { task: 'old-photo', sigmaY: 0.01, colorize: 'yes' } }],
    ['run', { ...(valid.run as object), spec: { task: 'old-photo', sigmaY: 0.01, kernel: { type: 'gaussian', std: 0 } } }],
    ['run', { ...(valid.run as object), spec: { task: 'old-photo', sigmaY: 0.01, damage: true } }],
    ['detectDamage', { imageId: 'abcdefghijklmnop' }],
    ['detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: 1.5 }],
    ['detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: -0.1 }],
    ['detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: Number.NaN }],
    ['detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: '0.5' }],
    ['detectDamage', { imageId: '../photo.png', sensitivity: 0.5 }],
    ['detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: 0.5, path: '/etc/passwd' }],
    ['detectDamage', undefined],
    ['estimate', { imageId: 'abcdefghijklmnop' }],
    ['estimate', { imageId: 'abcdefghijklmnop', sensitivity: 2 }],
    ['estimate', { imageId: 'abcdefghijklmnop', sensitivity: 0.5, mask: new Uint8Array(0) }],
    ['estimate', { imageId: 'abcdefghijklmnop', sensitivity: 0.5, mask: new Float64Array(4) }],
    ['estimate', { imageId: 'abcdefghijklmnop', sensitivity: 0.5, mask: [1, 0, 1] }],
    ['estimate', { imageId: 'short', sensitivity: 0.5 }],
    ['useResult', {}],
    ['useResult', { jobId: 'abc' }],
    ['useResult', { jobId: 'abcdefgh1234', path: '/tmp/x.png' }],
    ['useResult', { jobId: 'abcdefgh/1234' }],
    // The batch: a suffix is a name's end, never a path; a format of the list; no paths from the page.
    ['batchStart', { ...(valid.batchStart as object), suffix: '/../x' }],
    ['batchStart', { ...(valid.batchStart as object), suffix: '..\\x' }],
    ['batchStart', { ...(valid.batchStart as object), suffix: 'a'.repeat(65) }],
    ['batchStart', { ...(valid.batchStart as object), format: 'gif' }],
    ['batchStart', { ...(valid.batchStart as object), output: '/tmp' }],
    ['batchStart', { ...(valid.batchStart as object), stripGps: 'no' }],
    ['batchAddFiles', { paths: ['/etc/passwd'] }],
    ['batchChooseOutput', { path: '/' }],
    ['batchRemove', { index: -1 }],
    ['batchRemove', { index: 1.5 }],
    ['batchPause', {}],
  ])('rejects %s payload #%#', async (method, payload) => {
    const handlers = fakeHandlers();
    const reply = await dispatch(handlers, method, payload);
    expect(reply.ok).toBe(false);
    expect((reply as { error: string }).error).toMatch(/^invalid request: /);
    expect(handlers[method]).not.toHaveBeenCalled();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses extra arguments', async () => {
    const ipc = fakeIpc();
    const handlers = fakeHandlers();
    registerIpc(ipc, handlers, trusted);
    expect(await ipc.listeners.get(REQUESTS.cancel.channel)!(ours, valid.cancel, 'more')).toMatchObject({ ok: false });
    expect(handlers.cancel).not.toHaveBeenCalled();
  });

  it('survives random garbage on every channel', async () => {
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const atoms: unknown[] = [null, undefined, 0, -1, 1e308, Number.NaN, '', 'x', true, [], {}, new Uint8Array(3), new ArrayBuffer(2), Symbol('s'), () => 1, 10n];
    const garbage = (depth: number): unknown => {
      const r = rand();
      if (depth > 2 || r < 0.4) return atoms[Math.floor(rand() * atoms.length)];
      if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => garbage(depth + 1));
      const o: Record<string, unknown> = {};
      const keys = ['path', 'jobId', 'spec', 'task', 'mask', 'index', 'bytes', 'name', 'theme', 'sigmaY', 'x'];
      for (let i = 0; i < 3; i++) o[keys[Math.floor(rand() * keys.length)]!] = garbage(depth + 1);
      return o;
    };
    const handlers = fakeHandlers();
    for (const m of Object.keys(REQUESTS) as Method[]) {
      for (let i = 0; i < 200; i++) {
        const reply = await dispatch(handlers, m, garbage(0));
        expect(typeof reply.ok).toBe('boolean');
      }
    }
  });

  it('turns handler errors into one-line replies', async () => {
    const handlers = fakeHandlers();
    handlers.cancel.mockRejectedValueOnce(new UserError('no such job'));
    expect(await dispatch(handlers, 'cancel', valid.cancel)).toEqual({ ok: false, error: 'no such job' });
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    handlers.cancel.mockRejectedValueOnce(new Error('internal\nstack…'));
    expect(await dispatch(handlers, 'cancel', valid.cancel)).toEqual({ ok: false, error: 'internal' });
    spy.mockRestore();
  });
});

describe('old photos and their requests', () => {
  it.each<[string, unknown]>([
    ['no mask, no blur, no colour', { task: 'old-photo', sigmaY: 0.02 }],
    ['blur and colour', { task: 'old-photo', sigmaY: 0.02, kernel: { type: 'gaussian', std: 1.2 }, colorize: true }],
    ['colour off', { task: 'old-photo', sigmaY: 0, colorize: false }],
  ])('accepts an old-photo run with %s, with or without a mask', async (_what, spec) => {
    const handlers = fakeHandlers();
    const run = { ...(valid.run as object), spec };
    expect(await dispatch(handlers, 'run', run)).toEqual({ ok: true, value: 'run-ok' });
    expect(await dispatch(handlers, 'run', { ...run, mask: new Uint8Array(12) })).toEqual({ ok: true, value: 'run-ok' });
    expect(handlers.run).toHaveBeenCalledTimes(2);
    expect(handlers.run.mock.calls[0]![0]).toEqual(run);
  });

  it('passes detection, estimation and use-as-input requests through as parsed', async () => {
    const handlers = fakeHandlers();
    await dispatch(handlers, 'detectDamage', { imageId: 'abcdefghijklmnop', sensitivity: 0 });
    await dispatch(handlers, 'estimate', { imageId: 'abcdefghijklmnop', sensitivity: 1 });
    // IPC may deliver bytes as an ArrayBuffer: the mask reaches the handler as a Uint8Array.
    await dispatch(handlers, 'estimate', { imageId: 'abcdefghijklmnop', sensitivity: 1, mask: new Uint8Array([0, 1]).buffer });
    await dispatch(handlers, 'useResult', { jobId: 'abcdefgh1234' });
    expect(handlers.detectDamage).toHaveBeenCalledWith({ imageId: 'abcdefghijklmnop', sensitivity: 0 });
    expect(handlers.estimate.mock.calls[0]![0]).toEqual({ imageId: 'abcdefghijklmnop', sensitivity: 1 });
    expect(handlers.estimate.mock.calls[1]![0].mask).toEqual(new Uint8Array([0, 1]));
    expect(handlers.useResult).toHaveBeenCalledWith({ jobId: 'abcdefgh1234' });
  });

  it('remembers the old-photo fields in the settings, and refuses bad ones', async () => {
    const handlers = fakeHandlers();
    const task = { spec: { task: 'old-photo', sigmaY: 0.01 }, solver: { solver: 'vml-fp', preset: 'fast', seed: 0 } };
    expect(await dispatch(handlers, 'setSettings', { task: { ...task, oldPhoto: { blurStd: 1.5, colorize: true } } })).toMatchObject({ ok: true });
    expect(await dispatch(handlers, 'setSettings', { task })).toMatchObject({ ok: true }); // settings from before old photos
    for (const oldPhoto of [{ blurStd: -1, colorize: true }, { blurStd: 1 }, { blurStd: 1, colorize: 1 }, { blurStd: 1, colorize: true, extra: 0 }]) {
      expect(await dispatch(handlers, 'setSettings', { task: { ...task, oldPhoto } })).toMatchObject({ ok: false });
    }
    expect(handlers.setSettings).toHaveBeenCalledTimes(2);
  });
});

describe('the page side of the requests (requestMethods: the preload and the e2e loopback)', () => {
  it('offers every request but openPath, each sending its own method and payload', async () => {
    const sent: [string, unknown][] = [];
    const api = requestMethods(async (method, req) => {
      sent.push([method, req]);
      return 'reply' as never;
    });
    const methods = (Object.keys(REQUESTS) as Method[]).filter((m) => m !== 'openPath');
    expect(Object.keys(api).sort()).toEqual([...methods].sort());
    for (const m of methods) expect(await (api[m as keyof typeof api] as (r: unknown) => Promise<unknown>)({ probe: m })).toBe('reply');
    expect(sent).toEqual(methods.map((m) => [m, { probe: m }]));
  });
});
