/**
 * The Electron entry (main/index.ts) wired against a fake Electron: privileged schemes and the
 * sandbox before ready, a hardened session, the custom protocols, IPC on every channel with sender
 * checks, the window on app://renderer, and the inference service in a utility process that is
 * started again when it dies.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { REQUESTS } from '../../../common/api.js';
import { tempDir, TINY_MODEL, until } from '../helpers.js';

const dir = tempDir('index');
process.env.VMLMAP_MODEL_DIR = TINY_MODEL;

const fake = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events');
  const { vi } = await import('vitest');
  class FakeChild extends EventEmitter {
    sent: unknown[] = [];
    postMessage(m: unknown): void {
      this.sent.push(m);
    }
    kill(): boolean {
      return true;
    }
  }
  class FakeWebContents extends EventEmitter {
    static next = 1;
    id = FakeWebContents.next++;
    sent: [string, unknown][] = [];
    setWindowOpenHandler = vi.fn();
    reload = vi.fn();
    send(channel: string, e: unknown): void {
      this.sent.push([channel, e]);
    }
  }
  class BrowserWindow extends EventEmitter {
    static all: BrowserWindow[] = [];
    webContents = new FakeWebContents();
    url = '';
    constructor(readonly options: Record<string, unknown>) {
      super();
      BrowserWindow.all.push(this);
    }
    loadURL(url: string): Promise<void> {
      this.url = url;
      return Promise.resolve();
    }
    isDestroyed(): boolean {
      return false;
    }
    show(): void {}
    closed = false;
    /** As Electron's: a 'close' event a listener may prevent. */
    close(): void {
      let prevented = false;
      this.emit('close', { preventDefault: () => (prevented = true) });
      if (!prevented) this.closed = true;
    }
  }
  let ready!: () => void;
  const whenReady = new Promise<void>((r) => (ready = r));
  const children: FakeChild[] = [];
  const handlers = new Map<string, (e: unknown, ...a: unknown[]) => unknown>();
  const protocols = new Map<string, (req: { url: string }) => Promise<Response>>();
  const sessionHandlers: Record<string, unknown> = {};
  const electron = {
    app: Object.assign(new EventEmitter(), {
      isPackaged: false,
      whenReady: () => whenReady,
      enableSandbox: vi.fn(),
      requestSingleInstanceLock: () => true,
      commandLine: { appendSwitch: vi.fn() },
      getPath: (name: string) => `${process.env.VMLMAP_TEST_DIR}/${name}`,
      getAppPath: () => process.cwd(),
      getVersion: () => '0.1.0-test',
      quit: vi.fn(),
    }),
    protocol: {
      registerSchemesAsPrivileged: vi.fn(),
      handle: (scheme: string, h: (req: { url: string }) => Promise<Response>) => protocols.set(scheme, h),
    },
    session: {
      defaultSession: Object.assign(new EventEmitter(), {
        setPermissionRequestHandler: (h: unknown) => (sessionHandlers.request = h),
        setPermissionCheckHandler: (h: unknown) => (sessionHandlers.check = h),
        setDevicePermissionHandler: (h: unknown) => (sessionHandlers.device = h),
        webRequest: { onBeforeRequest: (_f: unknown, h: unknown) => (sessionHandlers.beforeRequest = h) },
      }),
    },
    ipcMain: { handle: (c: string, h: (e: unknown, ...a: unknown[]) => unknown) => handlers.set(c, h), removeHandler: (c: string) => handlers.delete(c) },
    BrowserWindow,
    Menu: { buildFromTemplate: vi.fn((t: unknown) => t), setApplicationMenu: vi.fn() },
    nativeTheme: { themeSource: 'system', shouldUseDarkColors: false },
    utilityProcess: {
      fork: vi.fn(() => {
        const c = new FakeChild();
        children.push(c);
        return c;
      }),
    },
    dialog: { showMessageBox: vi.fn(async () => ({ response: 1, checkboxChecked: false })) },
    shell: { openExternal: vi.fn() },
  };
  return { electron, ready, children, handlers, protocols, sessionHandlers, BrowserWindow };
});
vi.mock('electron', () => fake.electron);

process.env.VMLMAP_TEST_DIR = dir;
await import('../../../main/index.js');

describe('main entry', () => {
  it('registers the privileged schemes and the sandbox before the app is ready', () => {
    const schemes = fake.electron.protocol.registerSchemesAsPrivileged.mock.calls[0]![0] as { scheme: string }[];
    expect(schemes.map((s) => s.scheme)).toEqual(['app', 'app-image']);
    expect(fake.electron.app.enableSandbox).toHaveBeenCalled();
    expect(fake.BrowserWindow.all).toHaveLength(0);
  });

  it('on ready: hardens the session, serves the protocols, opens the window', async () => {
    fake.ready();
    await until(() => fake.BrowserWindow.all.length === 1, 5000, 'window');
    const deny = vi.fn();
    (fake.sessionHandlers.request as (wc: unknown, p: string, cb: (ok: boolean) => void) => void)({}, 'media', deny);
    expect(deny).toHaveBeenCalledWith(false);
    expect((fake.sessionHandlers.check as () => boolean)()).toBe(false);
    const block = vi.fn();
    (fake.sessionHandlers.beforeRequest as (d: { url: string }, cb: (r: { cancel: boolean }) => void) => void)({ url: 'https://example.org/' }, block);
    expect(block).toHaveBeenCalledWith({ cancel: true });
    expect([...fake.protocols.keys()].sort()).toEqual(['app', 'app-image']);
    expect((await fake.protocols.get('app-image')!({ url: 'app-image://image/unknownunknownunknown' })).status).toBe(404);

    const win = fake.BrowserWindow.all[0]!;
    expect(win.url).toBe('app://renderer/index.html');
    const wp = win.options.webPreferences as Record<string, unknown>;
    expect(wp).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(String(wp.preload)).toMatch(/preload[\\/]index\.cjs$/);
    expect(fake.electron.Menu.setApplicationMenu).toHaveBeenCalled();
  });

  it('answers IPC only from its own window', async () => {
    expect([...fake.handlers.keys()].sort()).toEqual(
      Object.values(REQUESTS)
        .map((r) => r.channel)
        .sort(),
    );
    const win = fake.BrowserWindow.all[0]!;
    const getState = fake.handlers.get(REQUESTS.getState.channel)!;
    const ours = { sender: { id: win.webContents.id }, senderFrame: { url: 'app://renderer/index.html', parent: null } };
    const reply = (await getState(ours)) as { ok: boolean; value: { model: { name: string }; version: string } };
    expect(reply.ok).toBe(true);
    expect(reply.value.model.name).toBe('tiny');
    expect(reply.value.version).toBe('0.1.0-test');
    expect(await getState({ ...ours, sender: { id: 999 } })).toEqual({ ok: false, error: 'refused: untrusted sender' });
    expect(await getState({ ...ours, senderFrame: { url: 'https://evil.example/', parent: null } })).toMatchObject({ ok: false });
  });

  it('runs the service in a utility process and starts it again when it dies', async () => {
    await until(() => fake.children.length === 1, 5000, 'service fork');
    expect(String((fake.electron.utilityProcess.fork.mock.calls[0] as unknown[])[0])).toMatch(/main[\\/]service\.js$/);
    const first = fake.children[0]!;
    first.emit('message', { type: 'ready', pid: 1 });
    first.emit('exit', 9);
    await until(() => fake.children.length === 2, 5000, 'restart');
    const win = fake.BrowserWindow.all[0]!;
    const states = win.webContents.sent.filter(([, e]) => (e as { kind: string }).kind === 'service').map(([, e]) => (e as { state: string }).state);
    expect(states).toContain('restarting');
    expect(states.at(-1)).toBe('restarting');
  });

  it('configures each service with a cache folder in user data, and runs its memory probes in utility processes', async () => {
    const service = fake.children.at(-1)!;
    service.emit('message', { type: 'ready', pid: 2 });
    expect(service.sent[0]).toEqual({ type: 'configure', cacheDir: join(dir, 'userData', 'vmlmap-cache'), memoryProbe: 'main' });
    const request = {
      graph: join(TINY_MODEL, 'eps.onnx'),
      provider: 'cpu',
      options: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, enableMemPattern: false },
      inputs: { x: 'x', t: 't' },
      channels: 3,
      sizes: [64, 192],
    };
    const forks = fake.electron.utilityProcess.fork.mock.calls.length;
    service.emit('message', { type: 'memory-probe', requestId: 'm1', request });
    await until(() => fake.electron.utilityProcess.fork.mock.calls.length === forks + 1, 5000, 'probe fork');
    expect(String((fake.electron.utilityProcess.fork.mock.calls.at(-1) as unknown[])[0])).toMatch(/main[\\/]memory-probe\.js$/);
    const probe = fake.children.at(-1)!;
    probe.emit('message', { type: 'ready' });
    expect(probe.sent).toEqual([{ type: 'measure', request }]);
    probe.emit('message', { type: 'peaks', peaks: [1e8, 1.1e8, 1.5e8] });
    await until(() => service.sent.length === 2, 5000, 'probe answer');
    expect(service.sent[1]).toEqual({ type: 'memory-probe-result', requestId: 'm1', ok: true, peaks: [1e8, 1.1e8, 1.5e8] });
  });

  it('reloads a crashed page (which then restores its session), at most twice a minute, then asks', async () => {
    const win = fake.BrowserWindow.all[0]!;
    const ours = { sender: { id: win.webContents.id }, senderFrame: { url: 'app://renderer/index.html', parent: null } };
    const getSession = fake.handlers.get(REQUESTS.getSession.channel)!;
    win.webContents.emit('render-process-gone', {}, { reason: 'clean-exit', exitCode: 0 });
    expect(win.webContents.reload).not.toHaveBeenCalled();
    win.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    expect(win.webContents.reload).toHaveBeenCalledTimes(1);
    expect(await getSession(ours)).toEqual({ ok: true, value: { crashed: true, session: null } });
    win.webContents.emit('render-process-gone', {}, { reason: 'oom', exitCode: 1 });
    expect(win.webContents.reload).toHaveBeenCalledTimes(2);
    // A third crash within the minute: not reloaded, the person is asked (here: Reload the window).
    win.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    expect(win.webContents.reload).toHaveBeenCalledTimes(2);
    expect(fake.electron.dialog.showMessageBox).toHaveBeenCalledTimes(1);
    expect((fake.electron.dialog.showMessageBox.mock.calls[0] as unknown[])[1]).toMatchObject({ title: 'The window keeps crashing' });
    await until(() => win.webContents.reload.mock.calls.length === 3, 5000, 'reload after the question');
  });

  it('holds the window open until the page answers close-requested, and closes when it says close', async () => {
    const win = fake.BrowserWindow.all[0]!;
    const ours = { sender: { id: win.webContents.id }, senderFrame: { url: 'app://renderer/index.html', parent: null } };
    const answer = fake.handlers.get(REQUESTS.answerClose.channel)!;
    const asked = () => win.webContents.sent.filter(([, e]) => (e as { kind: string }).kind === 'close-requested').length;
    win.close();
    expect(win.closed).toBe(false);
    expect(asked()).toBe(1);
    // The page asks the person, who cancels: the window stays.
    expect(await answer(ours, { answer: 'asking' })).toEqual({ ok: true });
    expect(await answer(ours, { answer: 'stay' })).toEqual({ ok: true });
    expect(win.closed).toBe(false);
    // Another window's answer, or a malformed one, is refused.
    win.close();
    expect(asked()).toBe(2);
    expect(await answer({ ...ours, sender: { id: 999 } }, { answer: 'close' })).toMatchObject({ ok: false });
    expect(await answer(ours, { answer: 'yes' })).toMatchObject({ ok: false });
    expect(win.closed).toBe(false);
    // Nothing at stake (or Quit without saving): it closes.
    expect(await answer(ours, { answer: 'close' })).toEqual({ ok: true });
    expect(win.closed).toBe(true);
  });

  it('writes settings before quitting', () => {
    const e = { preventDefault: vi.fn() };
    fake.electron.app.emit('before-quit', e);
    expect(e.preventDefault).toHaveBeenCalled();
  });
});
