/**
 * No lost work, the page's side: the autosaved session and closing the window.
 *
 * - Autosave: a few seconds after the last change (another photo, a mask edit, the task's settings,
 *   a result, a run starting or ending) what is at stake is sent to main (saveSession), which keeps
 *   it in the app's own folder; once nothing is at stake it is cleared. A burst of changes (a brush
 *   stroke, a slider) makes one save, at the latest MAX_WAIT after the burst began.
 * - On start: an autosaved session is offered back (Restore / Discard), or restored without asking
 *   when main reloaded the page after a crash. A photo that is gone or changed is said in one line
 *   and nothing is restored.
 * - Closing: main asks (close-requested); the page answers 'close' at once when nothing is at stake,
 *   otherwise it asks the person (Quit without saving / Cancel).
 */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { SessionOffer } from '../../../common/api';
import { api } from '../api';
import { useDocumentStore } from './document';
import { useMaskStore } from './mask';
import { messageOf, useSessionStore } from './session';
import { useTaskStore } from './task';
import { useViewStore } from './view';

/** Saved this long after the last change of a burst. */
export const AUTOSAVE_DELAY_MS = 3000;
/** A burst that goes on (painting without a pause) is still saved this long after it began. */
export const AUTOSAVE_MAX_WAIT_MS = 20_000;

export const CRASH_NOTICE = 'The window crashed and was reloaded; your work was restored';

/** "the painted mask and a result that was not exported", for the question. */
function describe(offer: SessionOffer): string {
  const parts = [...(offer.mask ? ['the painted mask'] : []), ...(offer.result ? ['a result that was not exported'] : [])];
  const when = new Date(offer.savedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const what = parts.length ? ` with ${parts.join(' and ')}` : '';
  const running = offer.running ? ' A restoration was running; it will have to be run again.' : '';
  return `${offer.name}${what}, autosaved ${when}.${running}`;
}

export const useAutosaveStore = defineStore('autosave', () => {
  /** Saving starts once the question about the last session is answered, so as not to overwrite it first. */
  const active = ref(false);
  /** When the work at stake was last saved; null when nothing is saved. */
  const savedAt = ref<number | null>(null);
  /** A change waits to be saved. */
  const pending = ref(false);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let burstStart: number | undefined;
  let saving: Promise<void> | undefined;
  let again = false;
  /** A session of this page's may be on disk (cleared when nothing is at stake any more). */
  let stored = false;
  let lastError = '';

  /** Something that is saved changed: save a few seconds from now. */
  function changed(): void {
    if (!active.value) return;
    const now = Date.now();
    burstStart ??= now;
    pending.value = true;
    clearTimeout(timer);
    timer = setTimeout(() => void save(), Math.max(0, Math.min(AUTOSAVE_DELAY_MS, burstStart + AUTOSAVE_MAX_WAIT_MS - now)));
  }

  /** Saves now (one save at a time; a change during one is saved right after it). */
  async function save(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    burstStart = undefined;
    pending.value = false;
    if (saving) {
      again = true;
      return saving;
    }
    saving = write().finally(() => (saving = undefined));
    await saving;
    if (again) {
      again = false;
      await save();
    }
  }

  async function write(): Promise<void> {
    const doc = useDocumentStore();
    try {
      if (!doc.image || !doc.atStake.length) {
        if (stored) await api().clearSession();
        stored = false;
        savedAt.value = null;
        return;
      }
      const mask = useMaskStore();
      const r = doc.result;
      await api().saveSession({
        imageId: doc.image.id,
        task: useTaskStore().form,
        ...(mask.isEmpty ? {} : { mask: mask.snapshot() }),
        ...(r ? { result: { jobId: r.jobId, width: r.width, height: r.height, spec: r.spec, stats: r.stats, operator: r.operator, provider: r.provider, precision: r.precision } } : {}),
        running: doc.running,
      });
      stored = true;
      savedAt.value = Date.now();
      lastError = '';
    } catch (e) {
      // Said once, not at every save that fails the same way.
      const message = messageOf(e);
      if (message !== lastError) useSessionStore().notify(`Autosave failed: ${message}`, 'error');
      lastError = message;
    }
  }

  /** Follows what is saved; called once, when the page starts. */
  function start(): void {
    const doc = useDocumentStore();
    const mask = useMaskStore();
    const task = useTaskStore();
    watch(() => [doc.generation, doc.result, doc.running, mask.version], changed);
    watch(() => task.form, changed);
  }

  /**
   * On start: the autosaved session, if there is one, is offered back, or restored without asking
   * after a crash. Saving begins when this is settled. Cancel (Esc) keeps it on disk, until other
   * work is autosaved in its place.
   */
  async function begin(): Promise<void> {
    const session = useSessionStore();
    try {
      const { crashed, session: offer } = await api().getSession();
      if (offer?.problem) {
        session.notify(`Your last session was not restored: ${offer.problem}.`, 'error');
        await api().clearSession();
      } else if (offer) {
        const choice = crashed
          ? 'restore'
          : await session.ask({
              title: 'Restore your last session?',
              text: describe(offer),
              choices: [
                { id: 'restore', label: 'Restore' },
                { id: 'discard', label: 'Discard' },
              ],
            });
        if (choice === 'restore') await restore(crashed);
        else if (choice === 'discard') await api().clearSession();
      } else if (crashed) {
        session.notify('The window crashed and was reloaded.');
      }
    } catch (e) {
      session.notify(`Your last session was not restored: ${messageOf(e)}`, 'error');
    } finally {
      active.value = true;
    }
  }

  /** The saved photo, mask, settings and result, back in the page. */
  async function restore(crashed: boolean): Promise<void> {
    const r = await api().restoreSession();
    const doc = useDocumentStore();
    const session = useSessionStore();
    doc.show(r.image);
    useTaskStore().load(r.task);
    if (r.mask) useMaskStore().load(r.mask);
    if (r.result) {
      doc.setResult(r.result);
      useViewStore().mode = 'compare';
    }
    stored = true;
    savedAt.value = Date.now();
    session.notify(crashed ? CRASH_NOTICE : 'Your last session was restored');
    for (const note of r.notes) session.notify(note, 'error');
    if (r.running) session.notify('The restoration that was running did not finish; run it again.');
  }

  /**
   * Main asks before the window closes: nothing at stake, it closes; otherwise the person chooses.
   * Quitting discards the autosaved session as well (main clears it).
   */
  async function answerClose(): Promise<void> {
    const lose = useDocumentStore().atStake;
    let answer: 'close' | 'stay' = 'close';
    if (lose.length) {
      // Main waits for the person, not only for the page.
      void api()
        .answerClose({ answer: 'asking' })
        .catch(() => undefined);
      const choice = await useSessionStore().ask({
        title: 'Quit without saving?',
        text: `Quitting now discards ${lose.join(' and ')}. Cancel to keep working.`,
        choices: [{ id: 'quit', label: 'Quit without saving' }],
      });
      answer = choice === 'quit' ? 'close' : 'stay';
    }
    if (answer === 'close') {
      clearTimeout(timer);
      active.value = false;
    }
    try {
      await api().answerClose({ answer });
    } catch (e) {
      useSessionStore().notify(messageOf(e), 'error');
    }
  }

  return { active, savedAt, pending, changed, save, start, begin, restore, answerClose };
});
