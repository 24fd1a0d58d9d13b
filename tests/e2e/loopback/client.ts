/**
 * The page side of the loopback transport: window.api (RendererApi, the preload's interface)
 * implemented over HTTP to the loopback host, which runs the main process's handlers and the real
 * inference service. Bundled to one script and injected before the app's own scripts run.
 */
import { type AppEvent, type Envelope, type Method, type RendererApi, type RequestOf, requestMethods, type Responses } from '../../../common/api.js';
import { decode, encode } from './wire.js';

async function invoke<M extends Method>(method: M, req: RequestOf<M>): Promise<Responses[M]> {
  const res = await fetch(`/invoke/${method}`, { method: 'POST', body: encode(req) as BodyInit, headers: { 'content-type': 'application/octet-stream' } });
  const reply = decode(new Uint8Array(await res.arrayBuffer())) as Envelope<Responses[M]>;
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

const listeners = new Set<(e: AppEvent) => void>();

async function pumpEvents(): Promise<void> {
  const res = await fetch('/events');
  const reader = res.body!.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf);
    next.set(value, buf.length);
    buf = next;
    while (buf.length >= 4) {
      const n = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
      if (buf.length < 4 + n) break;
      const e = decode(buf.slice(4, 4 + n)) as AppEvent;
      buf = buf.slice(4 + n);
      listeners.forEach((l) => l(e));
    }
  }
}

const api: RendererApi = {
  ...requestMethods(invoke),
  // A browser page has no file paths: dropped files travel as bytes, like a paste.
  async openFile(file) {
    return invoke('openBytes', { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  },
  onEvent(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

void pumpEvents();
(window as unknown as { api: RendererApi }).api = api;
