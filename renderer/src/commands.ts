/**
 * Every action reachable from the native menu, a keyboard shortcut or a button, in one place so
 * they all behave the same.
 */
import type { Command } from '../../common/api';
import { api } from './api';
import { useDocumentStore } from './stores/document';
import { useHistoryStore } from './stores/history';
import { useJobStore } from './stores/job';
import { useMaskStore } from './stores/mask';
import { messageOf, useSessionStore } from './stores/session';
import { useTaskStore } from './stores/task';
import { useViewStore } from './stores/view';

export const ZOOM_STEP = 1.25;

/** Exports the result shown, or another run of the history; true when it was written. */
export async function exportResult(runId?: string): Promise<boolean> {
  const doc = useDocumentStore();
  const session = useSessionStore();
  const jobId = runId ?? doc.result?.jobId;
  if (!jobId) {
    session.notify('Nothing to export yet: run a restoration first', 'error');
    return false;
  }
  try {
    const { exportFormat: format, exportQuality: quality } = session.settings;
    const saved = await api().exportResult({ jobId, format, quality });
    if (!saved) return false;
    useHistoryStore().markSaved(jobId);
    session.notify(`Saved ${saved.path}`);
    return true;
  } catch (e) {
    session.notify(messageOf(e), 'error');
    return false;
  }
}

/**
 * The result becomes the photo being restored, for another pass with another task; the original
 * file stays as it is. The result itself is then no longer exportable on its own, so one that was
 * never exported is not given up without asking.
 */
export async function useResultAsInput(): Promise<void> {
  const doc = useDocumentStore();
  const job = useJobStore();
  const session = useSessionStore();
  const result = doc.result;
  if (!result || job.busy || doc.opening) return;
  // The photo's history is cleared with it: the other runs never exported are at stake too.
  const others = useHistoryStore().runs.filter((r) => r.jobId !== result.jobId && !r.saved).length;
  const cleared = others ? ` The history of this photo is cleared: ${others === 1 ? 'another run was' : `${others} other runs were`} not exported.` : '';
  if (!result.saved) {
    const choice = await session.ask({
      title: 'Use the result as input?',
      text: `The result has not been exported. It becomes the photo being restored, and only the next result can be exported. Export it first to keep a copy of this step.${cleared}`,
      choices: [
        { id: 'export', label: 'Export first…' },
        { id: 'use', label: 'Use without exporting' },
      ],
    });
    if (choice === 'cancel') return;
    if (choice === 'export' && !(await exportResult())) return;
  } else if (cleared) {
    const choice = await session.ask({ title: 'Use the result as input?', text: `It becomes the photo being restored.${cleared}`, choices: [{ id: 'use', label: 'Use and clear the history' }] });
    if (choice !== 'use') return;
  }
  // The page may have moved on while the question was open.
  if (doc.result?.jobId !== result.jobId || job.busy) return;
  const before = doc.image;
  await doc.openResult(result.jobId);
  if (doc.image && doc.image !== before) {
    session.notify(`The result is now the photo being restored (${doc.image.name}); the original file is unchanged.`);
  }
}

/** Any run of the history as input: it is shown as the result, then used as the result is. */
export async function useRunAsInput(jobId: string): Promise<void> {
  if (useJobStore().busy || !(await useHistoryStore().show(jobId))) return;
  await useResultAsInput();
}

/**
 * Finds damage on the photo and adds it to the mask for review: what was painted stays, and Undo
 * takes the whole detection back.
 */
export async function detectDamage(): Promise<void> {
  const doc = useDocumentStore();
  const mask = useMaskStore();
  const session = useSessionStore();
  const image = doc.image;
  if (!image || mask.detecting) return;
  mask.detecting = true;
  try {
    const found = await api().detectDamage({ imageId: image.id, sensitivity: mask.sensitivity });
    if (doc.image !== image) return;
    const added = mask.merge(found.mask);
    useViewStore().mode = 'edit';
    const share = `${(100 * found.fraction).toFixed(1)}%`;
    if (found.fraction === 0) session.notify('No damage found at this sensitivity; raise it to find fainter damage.');
    else if (added === 0) session.notify(`Damage found on ${share} of the photo, all of it painted already.`);
    else session.notify(`Damage found on ${share} of the photo and added to the mask: erase what is not damage, or Undo.`);
  } catch (e) {
    session.notify(messageOf(e), 'error');
  } finally {
    mask.detecting = false;
  }
}

/**
 * Reads the grain, the blur and the colour from the photo into the task's fields (marked as
 * estimated, still editable); the painted mask stands for the damage the blur is read around.
 */
export async function estimateFromPhoto(): Promise<void> {
  const doc = useDocumentStore();
  const mask = useMaskStore();
  const task = useTaskStore();
  const session = useSessionStore();
  const image = doc.image;
  if (!image || task.estimating) return;
  task.estimating = true;
  try {
    const e = await api().estimate({ imageId: image.id, sensitivity: mask.sensitivity, ...(mask.isEmpty ? {} : { mask: mask.snapshot() }) });
    if (doc.image !== image) return;
    task.applyEstimate(e);
    for (const note of e.notes) session.notify(`Not estimated: ${note}`);
  } catch (e) {
    session.notify(messageOf(e), 'error');
  } finally {
    task.estimating = false;
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
