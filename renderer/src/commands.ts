/**
 * Every action reachable from the native menu, a keyboard shortcut or a button, in one place so
 * they all behave the same.
 */
import type { Command } from '../../common/api';
import { api } from './api';
import { useDocumentStore } from './stores/document';
import { useJobStore } from './stores/job';
import { useMaskStore } from './stores/mask';
import { messageOf, useSessionStore } from './stores/session';
import { useViewStore } from './stores/view';

export const ZOOM_STEP = 1.25;

export async function exportResult(): Promise<void> {
  const doc = useDocumentStore();
  const session = useSessionStore();
  if (!doc.result) {
    session.notify('Nothing to export yet: run a restoration first', 'error');
    return;
  }
  try {
    const { exportFormat: format, exportQuality: quality } = session.settings;
    const saved = await api().exportResult({ jobId: doc.result.jobId, format, quality });
    if (saved) session.notify(`Saved ${saved.path}`);
  } catch (e) {
    session.notify(messageOf(e), 'error');
  }
}

export async function importMask(): Promise<void> {
  const doc = useDocumentStore();
  const mask = useMaskStore();
  if (!doc.image) return;
  try {
    const bytes = await api().importMask({ width: doc.image.width, height: doc.image.height });
    if (bytes) {
      mask.load(bytes);
      useViewStore().mode = 'edit';
    }
  } catch (e) {
    useSessionStore().notify(messageOf(e), 'error');
  }
}

export async function exportMask(): Promise<void> {
  const doc = useDocumentStore();
  const mask = useMaskStore();
  const session = useSessionStore();
  if (!doc.image) return;
  try {
    const saved = await api().exportMask({ imageId: doc.image.id, width: mask.width, height: mask.height, mask: mask.snapshot() });
    if (saved) session.notify(`Saved ${saved.path}`);
  } catch (e) {
    session.notify(messageOf(e), 'error');
  }
}

export function runCommand(command: Command): void {
  const view = useViewStore();
  const mask = useMaskStore();
  const job = useJobStore();
  const session = useSessionStore();
  const doc = useDocumentStore();
  switch (command) {
    case 'open':
      void doc.openDialog();
      return;
    case 'export':
      void exportResult();
      return;
    case 'run':
      void job.run();
      return;
    case 'cancel':
      void job.cancel();
      return;
    case 'undo':
      mask.undo();
      view.mode = 'edit';
      return;
    case 'redo':
      mask.redo();
      view.mode = 'edit';
      return;
    case 'zoom-in':
      view.zoomAt(ZOOM_STEP);
      return;
    case 'zoom-out':
      view.zoomAt(1 / ZOOM_STEP);
      return;
    case 'zoom-fit':
      view.fit();
      return;
    case 'zoom-actual':
      view.zoomTo(1);
      return;
    case 'compare-swipe':
    case 'compare-side':
    case 'compare-hold': {
      const mode = command.slice('compare-'.length) as 'swipe' | 'side' | 'hold';
      view.compareMode = mode;
      if (doc.result) view.mode = 'compare';
      session.patchSettings({ compareMode: mode });
      return;
    }
    case 'theme-toggle':
      session.toggleTheme();
      return;
    case 'devices':
      session.dialog = 'devices';
      return;
    case 'shortcuts':
      session.dialog = 'shortcuts';
      return;
    case 'mask-import':
      void importMask();
      return;
    case 'mask-export':
      void exportMask();
      return;
    case 'mask-clear':
      mask.clear();
      view.mode = 'edit';
      return;
    case 'mask-invert':
      mask.invert();
      view.mode = 'edit';
      return;
  }
}
