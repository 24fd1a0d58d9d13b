/**
 * Entry of the inference service process. Under Electron it is a utility process and talks over
 * process.parentPort; under plain Node (tests, the loopback host, scripts) it is a forked child
 * and talks over the IPC channel with advanced serialization. The messages are the same.
 */
import * as ort from 'onnxruntime-node';
import type { FromService } from '../common/service-protocol.js';
import { listenToParent, postToParent } from './parent.js';
import { InferenceService } from './service.js';

// Provider failures are reported to the user by the probe and the job; onnxruntime's own error
// log of the same failures would only be noise on the console.
ort.env.logLevel = 'fatal';

const post = (msg: FromService): void => postToParent(msg);

const service = new InferenceService(post);

listenToParent('the inference service', (m) => service.handle(m));

post({ type: 'ready', pid: process.pid });
