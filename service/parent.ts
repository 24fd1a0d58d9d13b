/**
 * The channel to the process that started this one: process.parentPort under Electron (a utility
 * process), the IPC channel of a forked Node child otherwise (tests, the loopback host). The
 * service and the memory probe talk to main through it alike.
 */
interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

export function postToParent(msg: unknown): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

/** Calls `handle` with each message from the parent; exits when a forked child's parent goes away. */
export function listenToParent(what: string, handle: (msg: unknown) => void): void {
  if (parentPort) parentPort.on('message', (e) => handle(e.data));
  else if (process.send) {
    process.on('message', (m) => handle(m));
    // The parent went away: nothing will ever read our answers.
    process.on('disconnect', () => process.exit(0));
  } else {
    console.error(`${what} must be started by the app (no parent port or IPC channel)`);
    process.exit(2);
  }
}
