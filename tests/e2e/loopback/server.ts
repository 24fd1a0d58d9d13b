/**
 * The host side of the loopback transport: an HTTP server on 127.0.0.1 that serves the built
 * renderer (with the app's CSP), opened images by token, and the RendererApi requests, which go
 * through the same validation (ipc.dispatch) to the same Backend as under Electron, with the real
 * inference service forked under Node. Dialogs are scripted by the test, and so is the window: what
 * main's close and crash guards do to it (main/close-guard.ts, main/crash-guard.ts, wired as
 * main/index.ts wires them) happens to the browser page through the test's `window` hooks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type AppEvent, type Method, REQUESTS } from '../../../common/api.js';
import { Backend, type Dialogs } from '../../../main/backend.js';
import { type CloseAnswer, CloseGuard } from '../../../main/close-guard.js';
import { CrashGuard, type CrashOutcome } from '../../../main/crash-guard.js';
import { dispatch } from '../../../main/ipc.js';
import { imageResponse, rendererResponse } from '../../../main/protocol.js';
import { contentSecurityPolicy } from '../../../main/security.js';
import { forkService } from '../../../main/service-fork.js';
import { SettingsStore } from '../../../main/settings.js';
import { decode, encode, frame } from './wire.js';

export interface LoopbackOptions {
  rendererDir: string;
  serviceEntry: string;
  modelDir: string;
  dataDir: string;
  dialogs: Dialogs;
  /** The window, as main's guards act on it: reloaded after a crash, closed, given up on after a crash loop. */
  window?: { reload(): void; close?(): void; giveUp?(crashes: number): void };
}

export interface Loopback {
  url: string;
  backend: Backend;
  events: AppEvent[];
  /** The window's 'close' event (Electron: closing it or quitting): true once it closes, false when the page keeps it. */
  requestClose(): Promise<boolean>;
  /** The page's renderer is gone (webContents 'render-process-gone'): main reloads it or gives up. */
  pageGone(reason: string): CrashOutcome;
  close(): Promise<void>;
}

/** Requests a page may send; openPath exists only between the Electron preload and main. */
const PAGE_METHODS = new Set<string>(Object.keys(REQUESTS).filter((m) => m !== 'openPath'));
const MAX_BODY = 300 * 1024 * 1024;

async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('request too large');
    chunks.push(c as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function send(res: ServerResponse, r: Response): Promise<void> {
  res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
  res.end(Buffer.from(await r.arrayBuffer()));
}

export async function startLoopback(o: LoopbackOptions): Promise<Loopback> {
  const streams = new Set<ServerResponse>();
  const events: AppEvent[] = [];
  const settings = new SettingsStore(join(o.dataDir, 'settings.json'));
  // A browser tab stays open when "closed": each close request gets a guard of its own.
  let guard: CloseGuard | undefined;
  let closed: ((closed: boolean) => void) | undefined;
  const closing = {
    get pending() {
      return guard?.pending ?? false;
    },
    answer(answer: CloseAnswer): boolean {
      const awaited = guard?.answer(answer) ?? false;
      if (awaited && answer === 'stay') closed?.(false);
      return awaited;
    },
  };
  const emit = (e: AppEvent): void => {
    events.push(e);
    const bytes = Buffer.from(frame(encode(e)));
    for (const s of streams) s.write(bytes);
  };
  const backend = new Backend({
    spawn: () => forkService(o.serviceEntry),
    dialogs: o.dialogs,
    settings,
    imageUrl: (id) => `/app-image/${id}`,
    emit,
    defaultModelDir: o.modelDir,
    tempDir: o.dataDir,
    sessionDir: join(o.dataDir, 'session'),
    closing,
    version: 'loopback',
  });
  const crashes = new CrashGuard({
    reload: () => {
      backend.pageCrashed();
      guard?.pageGone();
      o.window?.reload();
    },
    giveUp: (n) => {
      guard?.pageGone();
      o.window?.giveUp?.(n);
    },
  });
  backend.service.start();
  const csp = contentSecurityPolicy(false);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://loopback');
      try {
        if (req.method === 'GET' && url.pathname === '/events') {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
          res.flushHeaders();
          streams.add(res);
          req.on('close', () => streams.delete(res));
          return;
        }
        if (req.method === 'POST' && url.pathname.startsWith('/invoke/')) {
          const method = url.pathname.slice('/invoke/'.length);
          const reply = PAGE_METHODS.has(method) ? await dispatch(backend, method as Method, decode(await body(req))) : { ok: false as const, error: 'unknown request' };
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(Buffer.from(encode(reply)));
          return;
        }
        if (req.method === 'GET' && url.pathname.startsWith('/app-image/')) {
          await send(res, await imageResponse(backend.images, `app-image://image/${url.pathname.slice('/app-image/'.length)}`));
          return;
        }
        if (req.method === 'GET') {
          await send(res, await rendererResponse(o.rendererDir, `app://renderer${url.pathname}`, csp));
          return;
        }
        res.writeHead(405).end();
      } catch (e) {
        res.writeHead(500).end(String((e as Error).message));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    backend,
    events,
    requestClose() {
      return new Promise<boolean>((resolve) => {
        closed = resolve;
        guard = new CloseGuard({
          ask: () => emit({ kind: 'close-requested' }),
          close: () => {
            o.window?.close?.();
            resolve(true);
          },
          // A page that does not answer is asked natively under Electron; here the close is refused.
          unanswered: async () => {
            resolve(false);
            return false;
          },
          answerMs: 10_000,
        });
        let held = false;
        guard.onClose({ preventDefault: () => (held = true) });
        if (!held) resolve(true);
      });
    },
    pageGone: (reason) => crashes.gone(reason),
    async close() {
      for (const s of streams) s.end();
      backend.dispose();
      await settings.flush();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
