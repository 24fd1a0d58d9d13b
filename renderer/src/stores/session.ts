/**
 * App-wide state from the main process (settings, recent files, the model, the service) and the
 * page's own chrome: theme, notifications, which dialog is open. Settings changes are sent to
 * main in batches, since sliders change them many times a second.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { type AppState, DEFAULT_SETTINGS, type ModelInfo, type RecentFile, type ServiceState, type Settings, type SettingsPatch } from '../../../common/api';
import { api } from '../api';

export interface Toast {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

/** A question the page asks before doing something that cannot be taken back (ConfirmDialog). */
export interface Question {
  title: string;
  text: string;
  /** The answers, the first one the default; closing the dialog answers 'cancel'. */
  choices: { id: string; label: string }[];
}

/**
 * Where the model runs when that is not where it was asked to (a GPU that would not start, fp32
 * instead of fp16): one line for the Device dialog, and onnxruntime's own words as details.
 */
export interface DeviceNote {
  text: string;
  details: string[];
}

const SAVE_DELAY_MS = 400;

export const useSessionStore = defineStore('session', () => {
  const settings = ref<Settings>(structuredClone(DEFAULT_SETTINGS));
  const recent = ref<RecentFile[]>([]);
  const model = ref<ModelInfo | null>(null);
  const platform = ref('');
  const version = ref('');
  const ready = ref(false);
  const service = ref<{ state: ServiceState; message?: string }>({ state: 'starting' });
  const toasts = ref<Toast[]>([]);
  const dialog = ref<'none' | 'devices' | 'shortcuts' | 'confirm' | 'batch'>('none');
  const question = ref<Question | null>(null);
  const deviceNote = ref<DeviceNote | null>(null);
  let answer: ((choice: string) => void) | undefined;
  const systemDark = ref(typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches);

  let nextToast = 0;
  let pending: SettingsPatch = {};
  let timer: ReturnType<typeof setTimeout> | undefined;

  const dark = computed(() => settings.value.theme === 'dark' || (settings.value.theme === 'system' && systemDark.value));

  function applyTheme(): void {
    document.documentElement.dataset.theme = dark.value ? 'dark' : 'light';
  }

  async function init(): Promise<void> {
    if (typeof matchMedia === 'function') {
      matchMedia('(prefers-color-scheme: dark)').addEventListener?.('change', (e) => {
        systemDark.value = e.matches;
        applyTheme();
      });
    }
    try {
      const s: AppState = await api().getState();
      settings.value = s.settings;
      recent.value = s.recent;
      model.value = s.model;
      service.value = s.service;
      platform.value = s.platform;
      version.value = s.version;
      if (s.model?.problem) notify(s.model.problem, 'error');
    } catch (e) {
      notify(messageOf(e), 'error');
    }
    applyTheme();
    ready.value = true;
  }

  /** Applies now; saves a moment later (one request per burst of slider moves). */
  function patchSettings(patch: SettingsPatch): void {
    settings.value = { ...settings.value, ...patch };
    if (patch.theme) applyTheme();
    pending = { ...pending, ...patch };
    clearTimeout(timer);
    timer = setTimeout(flushSettings, SAVE_DELAY_MS);
  }

  async function flushSettings(): Promise<void> {
    clearTimeout(timer);
    const patch = pending;
    pending = {};
    if (Object.keys(patch).length === 0) return;
    try {
      await api().setSettings(patch);
    } catch (e) {
      notify(`settings not saved: ${messageOf(e)}`, 'error');
    }
  }

  function toggleTheme(): void {
    patchSettings({ theme: dark.value ? 'light' : 'dark' });
  }

  function notify(text: string, kind: Toast['kind'] = 'info'): void {
    const id = ++nextToast;
    toasts.value = [...toasts.value.slice(-3), { id, kind, text }];
    if (kind === 'info') setTimeout(() => dismiss(id), 5000);
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  /** Shows the question and resolves with the chosen answer's id; 'cancel' when it is closed. */
  function ask(q: Question): Promise<string> {
    answer?.('cancel');
    question.value = q;
    dialog.value = 'confirm';
    return new Promise((resolve) => (answer = resolve));
  }

  /** The question's answer (ConfirmDialog); also called when the dialog is closed another way. */
  function reply(choice: string): void {
    const resolve = answer;
    answer = undefined;
    question.value = null;
    if (dialog.value === 'confirm') dialog.value = 'none';
    resolve?.(choice);
  }

  return {
    settings,
    recent,
    model,
    platform,
    version,
    ready,
    service,
    toasts,
    dialog,
    question,
    deviceNote,
    dark,
    init,
    patchSettings,
    flushSettings,
    toggleTheme,
    notify,
    dismiss,
    ask,
    reply,
    applyTheme,
  };
});

/** Error text for a person: the main process already sends one line. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
