/** Native file dialogs, attached to the window so they are modal to it. */
import { type BrowserWindow, dialog } from 'electron';
import type { ExportFormat } from '../common/api.js';
import type { Dialogs } from './backend.js';

const IMAGE_FILTER = { name: 'Images', extensions: ['png', 'jpg', 'jpeg', 'webp', 'tif', 'tiff'] };
const FORMAT_FILTERS: Record<ExportFormat, Electron.FileFilter> = {
  png: { name: 'PNG', extensions: ['png'] },
  jpeg: { name: 'JPEG', extensions: ['jpg', 'jpeg'] },
  webp: { name: 'WebP', extensions: ['webp'] },
};

export function electronDialogs(window: () => BrowserWindow | undefined): Dialogs {
  const first = (r: Electron.OpenDialogReturnValue): string | null => (r.canceled ? null : (r.filePaths[0] ?? null));
  const withWindow = <T>(f: (w: BrowserWindow | undefined) => Promise<T>): Promise<T> => f(window());
  return {
    openImage: () => withWindow(async (w) => first(await (w ? dialog.showOpenDialog(w, openImageOptions) : dialog.showOpenDialog(openImageOptions)))),
    openMask: () =>
      withWindow(async (w) => {
        const o: Electron.OpenDialogOptions = { title: 'Import mask', properties: ['openFile'], filters: [IMAGE_FILTER] };
        return first(await (w ? dialog.showOpenDialog(w, o) : dialog.showOpenDialog(o)));
      }),
    saveImage: (defaultPath, format) =>
      withWindow(async (w) => {
        const o: Electron.SaveDialogOptions = {
          title: 'Export restored image',
          defaultPath,
          filters: [FORMAT_FILTERS[format]],
          properties: ['showOverwriteConfirmation', 'createDirectory'],
        };
        const r = await (w ? dialog.showSaveDialog(w, o) : dialog.showSaveDialog(o));
        return r.canceled || !r.filePath ? null : r.filePath;
      }),
    saveMask: (defaultPath) =>
      withWindow(async (w) => {
        const o: Electron.SaveDialogOptions = { title: 'Export mask', defaultPath, filters: [FORMAT_FILTERS.png], properties: ['showOverwriteConfirmation', 'createDirectory'] };
        const r = await (w ? dialog.showSaveDialog(w, o) : dialog.showSaveDialog(o));
        return r.canceled || !r.filePath ? null : r.filePath;
      }),
    confirmReplaceOriginal: (path) =>
      withWindow(async (w) => {
        const o: Electron.MessageBoxOptions = {
          type: 'warning',
          title: 'Replace the original?',
          message: 'Replace the original photo with the restored image?',
          detail: `${path}\n\nThe original cannot be recovered afterwards.`,
          buttons: ['Cancel', 'Replace Original'],
          defaultId: 0,
          cancelId: 0,
          noLink: true,
        };
        const r = await (w ? dialog.showMessageBox(w, o) : dialog.showMessageBox(o));
        return r.response === 1;
      }),
    openImages: () =>
      withWindow(async (w) => {
        const o: Electron.OpenDialogOptions = { title: 'Add photos to the batch', properties: ['openFile', 'multiSelections'], filters: [IMAGE_FILTER] };
        const r = await (w ? dialog.showOpenDialog(w, o) : dialog.showOpenDialog(o));
        return r.canceled ? null : r.filePaths;
      }),
    chooseFolder: (purpose) =>
      withWindow(async (w) => {
        const o: Electron.OpenDialogOptions =
          purpose === 'photos'
            ? { title: 'Add a folder of photos to the batch', properties: ['openDirectory'] }
            : { title: 'Folder for the restored photos', properties: ['openDirectory', 'createDirectory'] };
        return first(await (w ? dialog.showOpenDialog(w, o) : dialog.showOpenDialog(o)));
      }),
    chooseModelDir: () =>
      withWindow(async (w) => {
        const o: Electron.OpenDialogOptions = { title: 'Choose a model folder (with manifest.json)', properties: ['openDirectory'] };
        return first(await (w ? dialog.showOpenDialog(w, o) : dialog.showOpenDialog(o)));
      }),
  };
}

const openImageOptions: Electron.OpenDialogOptions = { title: 'Open photo', properties: ['openFile'], filters: [IMAGE_FILTER] };

/** The window did not answer whether anything is at stake (hung, or its page crashed): quit anyway? */
export async function confirmQuitUnanswered(w: BrowserWindow | undefined): Promise<boolean> {
  const o: Electron.MessageBoxOptions = {
    type: 'warning',
    title: 'Quit?',
    message: 'The window is not responding. Quit without saving?',
    detail: 'Work since the last autosave may be lost. The autosaved work is offered back when the app starts again.',
    buttons: ['Cancel', 'Quit without saving'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
  const r = await (w ? dialog.showMessageBox(w, o) : dialog.showMessageBox(o));
  return r.response === 1;
}

/** The page crashed again right after being reloaded: try once more, or quit. True: try again. */
export async function crashLoopChoice(w: BrowserWindow | undefined, crashes: number): Promise<boolean> {
  const o: Electron.MessageBoxOptions = {
    type: 'error',
    title: 'The window keeps crashing',
    message: `The window crashed ${crashes} times within a minute and was not reloaded again.`,
    detail: 'Your work was autosaved a few seconds after each change; it is offered back when the window is reloaded or the app starts again.',
    buttons: ['Quit', 'Reload the window'],
    defaultId: 1,
    cancelId: 0,
    noLink: true,
  };
  const r = await (w ? dialog.showMessageBox(w, o) : dialog.showMessageBox(o));
  return r.response === 1;
}
