/**
 * Hosts the inference service (and memory probes) as plain Node child processes: for tests, the
 * loopback host of the end-to-end test, and any tool without Electron. Advanced serialization
 * makes typed arrays cross as binary, as they do over Electron's utility-process port.
 */
import { fork } from 'node:child_process';
import type { ProbeProcess } from './memory-probe-host.js';
import type { ServiceProcess } from './service-client.js';

function forkNode<T>(entry: string, env: NodeJS.ProcessEnv) {
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  return {
    send: (msg: T) => {
      if (child.connected) child.send(msg as object);
    },
    onMessage: (listener: (msg: unknown) => void) => void child.on('message', listener),
    onExit: (listener: (code: number | null, signal?: string | null) => void) => void child.on('exit', (code, signal) => listener(code, signal)),
    kill: () => {
      child.kill('SIGKILL');
    },
    get pid() {
      return child.pid;
    },
  };
}

export function forkService(entry: string, env: NodeJS.ProcessEnv = process.env): ServiceProcess & { readonly pid: number | undefined } {
  return forkNode(entry, env);
}

export function forkProbe(entry: string, env: NodeJS.ProcessEnv = process.env): ProbeProcess & { readonly pid: number | undefined } {
  return forkNode(entry, env);
}
