/**
 * The only bridge between the page and the main process: window.api, a fixed set of functions
 * with the shapes of common/api.ts. Nothing of ipcRenderer itself is exposed, so the page can
 * send only these requests, each on its own channel, and main validates every one of them.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { type AppEvent, type Envelope, EVENT_CHANNEL, type Method, REQUESTS, type RendererApi, type RequestOf, requestMethods, type Responses } from '../common/api.js';

async function invoke<M extends Method>(method: M, req: RequestOf<M>): Promise<Responses[M]> {
  const reply = (await ipcRenderer.invoke(REQUESTS[method].channel, req)) as Envelope<Responses[M]>;
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

const api: RendererApi = {
  ...requestMethods(invoke),
  async openFile(file) {
    // Only a File that came from a real drop has a path; one built by script has none.
    const path = webUtils.getPathForFile(file);
    if (path) return invoke('openPath', { path });
    return invoke('openBytes', { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  },
  onEvent(listener) {
    const wrapped = (_e: Electron.IpcRendererEvent, event: AppEvent): void => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
};

contextBridge.exposeInMainWorld('api', api);
