/**
 * Hosts the inference service as a plain Node child process: for tests, the loopback host of the
 * end-to-end test, and any tool without Electron. Advanced serialization makes typed arrays cross
 * as binary, as they do over Electron's utility-process port.
 */
import { fork } from 'node:child_process';
import type { ServiceProcess } from './service-client.js';

export function forkService(entry: string, env: NodeJS.ProcessEnv = process.env): ServiceProcess {
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  return {
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code, signal) => listener(code, signal)),
    kill: () => {
      child.kill('SIGKILL');
    },
    get pid() {
      return child.pid;
    },
  } as ServiceProcess & { readonly pid: number | undefined };
}
