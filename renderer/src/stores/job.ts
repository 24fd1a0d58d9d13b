/**
 * The restoration job: starting it, following its progress events and cancelling it. The job id
 * is made here so that events arriving before the reply to run() are already recognised.
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { GraphPrecision as Precision, JobEvent } from '../../../common/api';
import { type ExecutionProvider, PROVIDER_LABELS } from '../../../engine/model/choices';
import type { SolverSpec, TaskSpec } from '../../../engine/tasks';
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
  /** Time left, measured; -1 while it cannot be measured yet. */
  const etaMs = ref(-1);
  const provider = ref('');
  /** The model's precision on that provider: fp16 runs on GPU providers when the model has it. */
  const precision = ref<Precision | ''>('');
  const message = ref('');
  const cancelling = ref(false);
  /** The service has loaded the model and the job is computing (until then: Loading the model…). */
  const started = ref(false);
  /**
   * The first progress of the job, from which the time per step is measured: the first step also
   * holds the start (the first network calls on a new size, the starting estimate) and counted in
   * the rate it made the first ETA about twice too long.
   */
  let first: { step: number; elapsedMs: number } | null = null;
  /** The job whose first live preview was shown (each run shows its own). */
  let previewShown: string | null = null;
  let spec: TaskSpec | null = null;
  /** The solver's settings and seed of the run, kept with its result (the history shows them). */
  let solver: SolverSpec | null = null;
  /** The explicit provider choice whose failure was already told (once per choice, not per run). */
  let toldFallback = '';

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
    started.value = false;
    first = null;
    step.value = 0;
    total.value = 0;
    etaMs.value = -1;
    elapsedMs.value = 0;
    message.value = '';
    cancelling.value = false;
    spec = task.spec;
    solver = task.solverSpec;
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
        started.value = true;
        provider.value = e.provider;
        precision.value = e.precision;
        noteDevice(e);
        return;
      case 'progress':
        status.value = 'running';
        started.value = true;
        step.value = e.step;
        total.value = e.total;
        elapsedMs.value = e.elapsedMs;
        etaMs.value = measuredEta(e.step, e.total, e.elapsedMs);
        if (e.preview) {
          doc.preview = e.preview;
          // Each run's first preview is shown, whether or not an earlier result is; after that the
          // person may go back to the mask and stay there.
          if (previewShown !== e.jobId) {
            previewShown = e.jobId;
            useViewStore().mode = 'compare';
          }
        }
        return;
      case 'done':
        status.value = 'done';
        step.value = total.value;
        doc.setResult({
          jobId: e.jobId,
          image: e.image,
          width: e.width,
          height: e.height,
          spec: spec!,
          solver: solver!,
          at: Date.now(),
          stats: e.stats,
          operator: e.operator,
          provider: e.provider,
          precision: e.precision,
        });
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

  /** Time left from the measured time per step since the first step; -1 until two steps are measured. */
  function measuredEta(at: number, of: number, elapsed: number): number {
    if (!first || at < first.step) {
      first = { step: at, elapsedMs: elapsed };
      return -1;
    }
    if (at === first.step) return -1;
    return Math.max(0, ((elapsed - first.elapsedMs) / (at - first.step)) * (of - at));
  }

  /**
   * Where the model runs, when not where it was asked to. With Automatic, a GPU that does not start
   * is the normal case on many machines: the CPU runs it and only the Device dialog says so. A
   * provider the person chose that fails is told once, in words; onnxruntime's error text goes to
   * the Device dialog's details either way.
   */
  function noteDevice(e: Extract<JobEvent, { type: 'started' }>): void {
    const session = useSessionStore();
    const chosen = session.settings.provider;
    const ran = e.provider === 'cpu' ? 'the CPU' : labelOf(e.provider);
    const details = [...e.fallbacks.map((f) => `${labelOf(f.provider)}: ${f.reason}`), ...(e.precisionFallback ? [e.precisionFallback] : [])];
    if (!details.length) {
      session.deviceNote = null;
      return;
    }
    let text: string;
    if (!e.fallbacks.length) text = `Running on ${ran} in ${e.precision}: its ${e.precision === 'fp32' ? 'fp16' : 'fp32'} graphs did not start`;
    else if (chosen === 'auto') text = e.provider === 'cpu' ? 'GPU not available; running on the CPU' : `${e.fallbacks.map((f) => labelOf(f.provider)).join(', ')} not available; running on ${ran}`;
    else text = `${labelOf(chosen)} is not available; running on ${ran}`;
    session.deviceNote = { text, details };
    if (chosen !== 'auto' && e.fallbacks.length && toldFallback !== chosen) {
      toldFallback = chosen;
      session.notify(`${text}. Details under Device.`);
    }
  }

  /**
   * Another photo is being restored (opened, or a result used as input): the last job's outcome is
   * about the previous photo, and a job still running on it is cancelled and no longer followed (its
   * late events would put its result over the new photo).
   */
  function clear(): void {
    if (busy.value && jobId.value)
      void api()
        .cancel({ jobId: jobId.value })
        .catch(() => undefined);
    jobId.value = null;
    status.value = 'idle';
    message.value = '';
    cancelling.value = false;
    started.value = false;
    step.value = 0;
    total.value = 0;
    elapsedMs.value = 0;
    etaMs.value = -1;
  }

  watch(
    () => useDocumentStore().generation,
    () => clear(),
  );
  watch(busy, (b) => (useDocumentStore().running = b), { flush: 'sync' });

  return { jobId, status, step, total, elapsedMs, etaMs, provider, precision, message, cancelling, started, busy, fraction, canRun, blocker, run, cancel, handle, clear };
});

const labelOf = (provider: string): string => PROVIDER_LABELS[provider as ExecutionProvider] ?? provider;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
