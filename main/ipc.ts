/**
 * The IPC boundary. Each request channel gets one handler that checks the sender, parses the
 * payload against its schema and calls the backend; the reply is always an envelope, and no
 * input, however malformed, can throw out of a handler.
 */
import { type Envelope, type Handlers, type Method, REQUESTS } from '../common/api.js';
import { safeParse } from '../common/schema.js';
import { UserError } from '../engine/types.js';
import type { SenderEvent } from './security.js';

/** The part of Electron's ipcMain used here (a fake in tests). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: SenderEvent, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

/** Turns any error into one line for a person; internal errors are logged with their stack. */
export function errorMessage(e: unknown): string {
  if (e instanceof UserError) return e.message;
  console.error('[main]', e);
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0] || 'unexpected error';
}

export async function dispatch(handlers: Handlers, method: Method, payload: unknown): Promise<Envelope<unknown>> {
  const parsed = safeParse(REQUESTS[method].request as { parse(v: unknown): unknown }, payload);
  if (!parsed.ok) return { ok: false, error: `invalid request: ${parsed.error}` };
  try {
    const value = await (handlers[method] as (req: unknown) => Promise<unknown>).call(handlers, parsed.value);
    return { ok: true, value };
  } catch (e) {
    return { ok: false, error: errorMessage(e) };
  }
}

export function registerIpc(ipc: IpcMainLike, handlers: Handlers, isTrusted: (event: SenderEvent) => boolean): () => void {
  const methods = Object.keys(REQUESTS) as Method[];
  for (const method of methods) {
    ipc.handle(REQUESTS[method].channel, async (event, ...args) => {
      // Checked for every message, not once per window: frames navigate and get replaced.
      if (!isTrusted(event)) {
        console.warn(`[main] refused ${method} from an untrusted sender (${event?.senderFrame?.url ?? 'no frame'})`);
        return { ok: false, error: 'refused: untrusted sender' } satisfies Envelope<never>;
      }
      if (args.length > 1) return { ok: false, error: 'invalid request: expected one argument' } satisfies Envelope<never>;
      return dispatch(handlers, method, args[0]);
    });
  }
  return () => methods.forEach((m) => ipc.removeHandler(REQUESTS[m].channel));
}
