/**
 * Electron entry: wires the window, the custom protocols, IPC, the menu and the inference service
 * together. The logic lives in the modules it imports; this file only connects them to Electron.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { app, BrowserWindow, Menu, ipcMain, nativeTheme, protocol, session, utilityProcess } from 'electron';
import { type AppEvent, EVENT_CHANNEL } from '../common/api.js';
import { Backend } from './backend.js';
import { CloseGuard } from './close-guard.js';
import { CrashGuard } from './crash-guard.js';
import { confirmQuitUnanswered, crashLoopChoice, electronDialogs } from './dialogs.js';
import { errorMessage, registerIpc } from './ipc.js';
import { memoryProbeHost, type ProbeProcess } from './memory-probe-host.js';
import { menuTemplate } from './menu.js';
import { imageResponse, imageUrl, PRIVILEGED_SCHEMES, rendererResponse, rendererRoot } from './protocol.js';
import { APP_ORIGIN, APP_SCHEME, contentSecurityPolicy, IMAGE_SCHEME, isAllowedRequest, isTrustedSender, originOf, RENDERER_URL } from './security.js';
import type { ServiceProcess } from './service-client.js';
import { SettingsStore } from './settings.js';
import { createMainWindow, guardWebContents } from './window.js';

const here = import.meta.dirname;
const devServer = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const origins = [APP_ORIGIN, ...(devServer ? [originOf(devServer)!] : [])];

protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);
app.enableSandbox();
// Offline by design: no spell-check dictionaries or other downloads.
app.commandLine.appendSwitch('disable-features', 'SpellcheckService');

if (!app.requestSingleInstanceLock()) app.quit();

let win: BrowserWindow | undefined;
let backend: Backend | undefined;
let settingsStore: SettingsStore | undefined;

function emit(e: AppEvent): void {
  if (e.kind === 'recent') refreshMenu();
  if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, e);
}

function utilityService(): ServiceProcess {
  const child = utilityProcess.fork(join(here, 'service.js'), [], { serviceName: 'VML-MAP inference', stdio: 'inherit' });
  return {
    send: (msg) => child.postMessage(msg),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => void child.kill(),
  };
}

/** A fresh utility process for one memory probe: the fuse-safe way to get a clean Node. */
function utilityProbe(): ProbeProcess {
  const child = utilityProcess.fork(join(here, 'memory-probe.js'), [], { serviceName: 'VML-MAP memory probe', stdio: 'inherit' });
  return {
    send: (msg) => child.postMessage(msg),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => void child.kill(),
  };
}

function defaultModelDir(): string {
  if (process.env.VMLMAP_MODEL_DIR) return process.env.VMLMAP_MODEL_DIR;
  return app.isPackaged ? join(process.resourcesPath, 'models', 'default') : join(app.getAppPath(), 'resources', 'models', 'default');
}

function refreshMenu(): void {
  if (!backend) return;
  const settings = settingsStore!;
  const send = (e: AppEvent): void => emit(e);
  const template = menuTemplate(
    settings.recent,
    {
      command: (command) => send({ kind: 'command', command }),
      open: () => send({ kind: 'command', command: 'open' }),
      openRecent: (i) =>
        void backend!
          .openRecent({ index: i })
          .then((image) => send({ kind: 'opened', image }))
          .catch((e) => send({ kind: 'error', message: errorMessage(e) })),
      clearRecent: () => {
        for (const r of settings.recent) settings.removeRecent(r.path);
        send({ kind: 'recent', recent: [] });
      },
    },
    { mac: process.platform === 'darwin', dev: !app.isPackaged },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function hardenSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  ses.on('will-download', (event) => event.preventDefault());
  ses.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
    const allowed = isAllowedRequest(details.url, devServer);
    if (!allowed) console.warn(`[main] blocked request to ${details.url}`);
    callback({ cancel: !allowed });
  });
}

app.on('web-contents-created', (_event, contents) => guardWebContents(contents));

app.on('second-instance', () => {
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

app.whenReady().then(() => {
  const userData = app.getPath('userData');
  const tempDir = join(app.getPath('temp'), `vmlmap-${process.pid}`);
  mkdirSync(tempDir, { recursive: true, mode: 0o700 });
  settingsStore = new SettingsStore(join(userData, 'settings.json'));
  nativeTheme.themeSource = settingsStore.settings.theme;

  hardenSession();
  const csp = contentSecurityPolicy(!!devServer);
  protocol.handle(APP_SCHEME, (req) => rendererResponse(rendererRoot(here), req.url, csp));

  const closeGuard = new CloseGuard({
    ask: () => emit({ kind: 'close-requested' }),
    close: () => win?.close(),
    unanswered: () => confirmQuitUnanswered(win),
  });
  backend = new Backend({
    spawn: utilityService,
    dialogs: electronDialogs(() => win),
    settings: settingsStore,
    imageUrl,
    emit,
    defaultModelDir: defaultModelDir(),
    tempDir,
    // The autosaved session (the photo's path, the mask, the settings, an unexported result).
    sessionDir: join(userData, 'session'),
    // The page answers close-requested through the validated request answerClose.
    closing: closeGuard,
    // The memory-cost cache is per user, in the app's own data folder; the probe runs via main.
    configure: { cacheDir: join(userData, 'vmlmap-cache'), memoryProbe: 'main' },
    memoryProbe: memoryProbeHost(utilityProbe),
    platform: process.platform,
    version: app.getVersion(),
  });
  const images = backend.images;
  protocol.handle(IMAGE_SCHEME, (req) => imageResponse(images, req.url));

  const store = settingsStore;
  const handlers = backend;
  const trusted = new Set<number>();
  registerIpc(
    ipcMain,
    {
      ...bindAll(handlers),
      setSettings: async (patch) => {
        const s = await handlers.setSettings(patch);
        if (patch.theme) nativeTheme.themeSource = patch.theme;
        return s;
      },
    },
    (event) => isTrustedSender(event, trusted, origins),
  );

  win = createMainWindow({
    preload: join(here, '..', 'preload', 'index.cjs'),
    url: devServer ?? RENDERER_URL,
    dark: store.settings.theme === 'dark' || (store.settings.theme === 'system' && nativeTheme.shouldUseDarkColors),
    devTools: !app.isPackaged,
  });
  trusted.add(win.webContents.id);
  const window = win;
  // Closing or quitting asks the page first whether work would be lost (main/close-guard.ts).
  window.on('close', (event) => closeGuard.onClose(event));
  // A crashed page is reloaded and restores the autosaved session; a crash loop is stopped.
  const crashes = new CrashGuard({
    reload: () => {
      backend!.pageCrashed();
      closeGuard.pageGone();
      window.webContents.reload();
    },
    giveUp: (n) => {
      closeGuard.pageGone();
      void crashLoopChoice(window, n).then((again) => {
        if (window.isDestroyed()) return;
        if (!again) return closeGuard.closeNow();
        crashes.reset();
        backend!.pageCrashed();
        window.webContents.reload();
      });
    },
  });
  window.webContents.on('render-process-gone', (_event, details) => {
    if (!window.isDestroyed()) crashes.gone(details.reason);
  });
  win.on('closed', () => {
    win = undefined;
  });
  refreshMenu();
  backend.service.start();

  app.on('will-quit', () => {
    backend?.dispose();
    rmSync(tempDir, { recursive: true, force: true });
  });
});

app.on('window-all-closed', () => app.quit());

// Settings are written asynchronously; quitting waits for the last write once.
let flushed = false;
app.on('before-quit', (event) => {
  if (flushed || !settingsStore) return;
  event.preventDefault();
  void settingsStore.flush().finally(() => {
    flushed = true;
    app.quit();
  });
});

/** The backend's methods as plain functions (registerIpc calls them detached from the object). */
function bindAll(b: Backend) {
  return {
    getState: b.getState.bind(b),
    setSettings: b.setSettings.bind(b),
    openDialog: b.openDialog.bind(b),
    openPath: b.openPath.bind(b),
    openBytes: b.openBytes.bind(b),
    openRecent: b.openRecent.bind(b),
    run: b.run.bind(b),
    cancel: b.cancel.bind(b),
    exportResult: b.exportResult.bind(b),
    runImage: b.runImage.bind(b),
    discardRun: b.discardRun.bind(b),
    importMask: b.importMask.bind(b),
    exportMask: b.exportMask.bind(b),
    detectDamage: b.detectDamage.bind(b),
    estimate: b.estimate.bind(b),
    useResult: b.useResult.bind(b),
    probeDevices: b.probeDevices.bind(b),
    chooseModel: b.chooseModel.bind(b),
    useBundledModel: b.useBundledModel.bind(b),
    saveSession: b.saveSession.bind(b),
    clearSession: b.clearSession.bind(b),
    getSession: b.getSession.bind(b),
    restoreSession: b.restoreSession.bind(b),
    answerClose: b.answerClose.bind(b),
    batchState: b.batchState.bind(b),
    batchAddFiles: b.batchAddFiles.bind(b),
    batchAddFolder: b.batchAddFolder.bind(b),
    batchChooseOutput: b.batchChooseOutput.bind(b),
    batchRemove: b.batchRemove.bind(b),
    batchClear: b.batchClear.bind(b),
    batchStart: b.batchStart.bind(b),
    batchPause: b.batchPause.bind(b),
    batchCancel: b.batchCancel.bind(b),
  };
}
