/**
 * The one application window and the guards every web contents gets: isolated, sandboxed, no
 * Node in the page, no navigation away from our page and no new windows.
 */
import { BrowserWindow, type BrowserWindowConstructorOptions, type WebContents } from 'electron';

export function windowOptions(preload: string, dark: boolean, devTools: boolean): BrowserWindowConstructorOptions {
  return {
    width: 1320,
    height: 860,
    minWidth: 820,
    minHeight: 560,
    show: false,
    title: 'VML-MAP Restore',
    // Matches the first paint of the page, so the window does not flash white in the dark theme.
    backgroundColor: dark ? '#17191d' : '#f3f4f6',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools,
    },
  };
}

/**
 * The page never navigates and never opens windows: drag-and-drop is handled inside the app, and
 * the page has no links, so window.open is refused whatever the URL (nothing is handed to the
 * browser either: a compromised page could otherwise open any https address).
 */
export function guardWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function createMainWindow(opts: { preload: string; url: string; dark: boolean; devTools: boolean }): BrowserWindow {
  const win = new BrowserWindow(windowOptions(opts.preload, opts.dark, opts.devTools));
  guardWebContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(opts.url);
  return win;
}
