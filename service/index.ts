/**
 * Entry of the inference service process. Under Electron it is a utility process and talks over
 * process.parentPort; under plain Node (tests, the loopback host, scripts) it is a forked child
 * and talks over the IPC channel with advanced serialization. The messages are the same.
 */
import * as ort from 'onnxruntime-node';
import type { FromService } from '../common/service-protocol.js';
import { InferenceService } from './service.js';

// Provider failures are reported to the user by the probe and the job; onnxruntime's own error
// log of the same failures would only be noise on the console.
ort.env.logLevel = 'fatal';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(msg: FromService): void {
  if (parentPort) parentPort.postMessage(msg);
  else if (process.send) process.send(msg);
}

const service = new InferenceService(post);

if (parentPort) {
  parentPort.on('message', (e) => service.handle(e.data));
} else if (process.send) {
  process.on('message', (m) => service.handle(m));
  // The parent went away: nothing will ever read our results.
  process.on('disconnect', () => process.exit(0));
} else {
  console.error('the inference service must be started by the app (no parent port or IPC channel)');
  process.exit(2);
}

post({ type: 'ready', pid: process.pid });
