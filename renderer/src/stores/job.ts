/**
 * The restoration job: starting it, following its progress events and cancelling it. The job id
 * is made here so that events arriving before the reply to run() are already recognised.
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { GraphPrecision as Precision, JobEvent } from '../../../common/api';
import type { TaskSpec } from '../../../engine/tasks';
import { api } from '../api';
import { useDocumentStore } from './document';
import { useMaskStore } from './mask';
import { messageOf, useSessionStore } from './session';
import { useTaskStore } from './task';
import { useViewStore } from './view';

export type JobStatus = 'idle' | 'starting' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const useJobStore = defineStore('job', () => {
  const jobId = ref<string | null>(null);
  const status = ref<JobStatus>('idle');
  const step = ref(0);
  const total = ref(0);
  const elapsedMs = ref(0);
  const etaMs = ref(0);
  const provider = ref('');
  /** The model's precision on that provider: fp16 runs on GPU providers when the model has it. */
  const precision = ref<Precision | ''>('');
  const message = ref('');
  const cancelling = ref(false);
  let spec: TaskSpec | null = null;

  const busy = computed(() => status.value === 'starting' || status.value === 'queued' || status.value === 'running');
  const fraction = computed(() => (total.value > 0 ? Math.min(1, step.value / total.value) : 0));

  const canRun = computed(() => {
    const doc = useDocumentStore();
    if (!doc.image || busy.value) return false;
    return !useTaskStore().needsMask || !useMaskStore().isEmpty;
  });

  /** Why Run is disabled, for its tooltip. */
  const blocker = computed(() => {
    if (!useDocumentStore().image) return 'Open a photo first';
    if (busy.value) return 'A job is running';
    if (useTaskStore().needsMask && useMaskStore().isEmpty) return 'Paint the area to restore first';
    return '';
  });

  async function run(): Promise<void> {
    const doc = useDocumentStore();
    const task = useTaskStore();
    if (!canRun.value || !doc.image) return;
    const id = crypto.randomUUID().replaceAll('-', '');
    jobId.value = id;
    status.value = 'starting';
    step.value = 0;
    total.value = 0;
    etaMs.value = 0;
    elapsedMs.value = 0;
    message.value = '';
    cancelling.value = false;
    spec = task.spec;
    doc.preview = null;
    try {
      await api().run({
        jobId: id,
        imageId: doc.image.id,
        spec: task.spec,
        solver: task.solverSpec,
        // Inpainting needs the mask; an old photo takes it when something is painted (none = no damage).
        ...(task.needsMask || (task.takesMask && !useMaskStore().isEmpty) ? { mask: useMaskStore().snapshot() } : {}),
      });
    } catch (e) {
      if (jobId.value === id) {
        status.value = 'failed';
        message.value = messageOf(e);
        useSessionStore().notify(message.value, 'error');
      }
    }
  }

  async function cancel(): Promise<void> {
    if (!jobId.value || !busy.value) return;
    cancelling.value = true;
    try {
      await api().cancel({ jobId: jobId.value });
    } catch (e) {
      useSessionStore().notify(messageOf(e), 'error');
    }
  }

  function handle(e: JobEvent): void {
    if (e.jobId !== jobId.value) return;
    const doc = useDocumentStore();
    switch (e.type) {
      case 'queued':
        status.value = e.position > 0 ? 'queued' : 'starting';
        return;
      case 'started':
        status.value = 'running';
        provider.value = e.provider;
        precision.value = e.precision;
        if (e.fallbacks.length) {
          useSessionStore().notify(`Running on ${e.provider}: ${e.fallbacks.map((f) => `${f.provider} unavailable (${f.reason})`).join('; ')}`);
        }
        if (e.precisionFallback) useSessionStore().notify(`Running on ${e.provider}: ${e.precisionFallback}`);
        return;
      case 'progress':
        status.value = 'running';
        step.value = e.step;
        total.value = e.total;
        elapsedMs.value = e.elapsedMs;
        etaMs.value = e.etaMs;
        if (e.preview) doc.preview = e.preview;
        return;
      case 'done':
        status.value = 'done';
        step.value = total.value;
        doc.setResult({ jobId: e.jobId, image: e.image, width: e.width, height: e.height, spec: spec!, stats: e.stats, operator: e.operator, provider: e.provider, precision: e.precision });
        useViewStore().mode = 'compare';
        message.value = `Done in ${formatDuration(e.stats.wallMs)} on ${e.provider} (${e.precision})${e.stats.approximateVjp ? ' (approximate: this model has no VJP graph)' : ''}`;
        return;
      case 'failed':
        status.value = 'failed';
        message.value = e.message;
        doc.preview = null;
        useSessionStore().notify(e.message, 'error');
        return;
      case 'cancelled':
        status.value = 'cancelled';
        message.value = 'Cancelled';
        doc.preview = null;
        return;
    }
  }

  /** Forgets the last job's outcome: another photo is being restored (opened, or a result used as input). */
  function clear(): void {
    if (busy.value) return;
    jobId.value = null;
    status.value = 'idle';
    message.value = '';
    step.value = 0;
    total.value = 0;
  }

  watch(
    () => useDocumentStore().generation,
    () => clear(),
  );

  return { jobId, status, step, total, elapsedMs, etaMs, provider, precision, message, cancelling, busy, fraction, canRun, blocker, run, cancel, handle, clear };
});

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
