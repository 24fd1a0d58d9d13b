/**
 * The main process's side of the inference service: a queue that hands the service one job at a
 * time, requests (device probe, export, display copies, masks) answered out of band, and
 * supervision. When the service process dies, the running job fails with a message, pending
 * requests are rejected, and a fresh process is started for whatever is queued next.
 */
import type { JobEvent, ServiceState } from '../common/api.js';
import { safeParse } from '../common/schema.js';
import { UserError } from '../engine/types.js';
import {
  type ConfigureMessage,
  type DisplayCopyMessage,
  type FileDoneMessage,
  type FromService,
  fromServiceSchema,
  type MaskMessage,
  type MemoryProbeRequestMessage,
  type RestoreFileMessage,
  type RunMessage,
  type ToService,
} from '../common/service-protocol.js';

/** A request was pending when the service process stopped; the message says how it stopped. */
export class ServiceStoppedError extends UserError {}

/** Requests answered by a message of their own rather than by 'reply', and that message. */
interface Answers {
  display: DisplayCopyMessage;
  'read-mask': MaskMessage;
  'detect-damage': MaskMessage;
}

/** A running service process, whatever hosts it (utility process, child process, a fake). */
export interface ServiceProcess {
  send(msg: ToService): void;
  onMessage(listener: (msg: unknown) => void): void;
  onExit(listener: (code: number | null, signal?: string | null) => void): void;
  kill(): void;
}

export type SpawnService = () => ServiceProcess;

export interface ServiceClientOptions {
  onJob: (e: JobEvent) => void;
  onState?: (state: ServiceState, message?: string) => void;
  /** Restarts allowed within restartWindowMs before the service is left down. */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** After asking a job to stop, how long to wait before killing a service that does not. */
  cancelGraceMs?: number;
  restartDelayMs?: number;
  /** Sent to each new service process before anything else. */
  configure?: Omit<ConfigureMessage, 'type'>;
  /** Runs a memory probe the service asks for (the app: in a utility process of its own). */
  memoryProbe?: (request: MemoryProbeRequestMessage) => Promise<number[]>;
}

/** What a batch's photo (restore-file) reports to the one who queued it, not to onJob. */
export type FileJobEvent = Extract<JobEvent, { type: 'started' | 'progress' | 'failed' | 'cancelled' }> | FileDoneMessage;

type RunJob = Omit<RunMessage, 'type'> & { cancelRequested?: boolean; file?: undefined };
type FileJob = Omit<RestoreFileMessage, 'type'> & { cancelRequested?: boolean; file: (e: FileJobEvent) => void };
type Job = RunJob | FileJob;
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class ServiceClient {
  private proc: ServiceProcess | undefined;
  private ready = false;
  private current: Job | undefined;
  private readonly queue: Job[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly waiting: (() => void)[] = [];
  private readonly restarts: number[] = [];
  private cancelTimer: ReturnType<typeof setTimeout> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private nextRequest = 0;
  private disposed = false;
  private state: ServiceState = 'down';
  private stateMessage: string | undefined;

  constructor(
    private readonly spawn: SpawnService,
    private readonly opts: ServiceClientOptions,
  ) {}

  get status(): { state: ServiceState; message?: string } {
    return this.stateMessage ? { state: this.state, message: this.stateMessage } : { state: this.state };
  }

  /** Starts the process now (otherwise the first job or request starts it). */
  start(): void {
    if (!this.proc && !this.disposed) this.launch();
  }

  enqueue(job: RunJob): void {
    this.queue.push(job);
    this.opts.onJob({ type: 'queued', jobId: job.jobId, position: this.queue.length + (this.current ? 1 : 0) - 1 });
    this.start();
    this.pump();
  }

  /**
   * A batch's photo, queued with the jobs: the service restores the file to its output
   * (service/restore-file.ts). Its events go to `listener` only; cancel() stops it like a job.
   */
  enqueueFile(job: Omit<RestoreFileMessage, 'type'>, listener: (e: FileJobEvent) => void): void {
    this.queue.push({ ...job, file: listener });
    this.start();
    this.pump();
  }

  /** A job's event to whoever follows it: onJob, or a batch's listener. */
  private tell(job: Job, e: JobEvent | FileDoneMessage): void {
    if (job.file) {
      if (e.type !== 'queued' && e.type !== 'done') job.file(e);
    } else if (e.type !== 'file-done') this.opts.onJob(e);
  }

  /** True when the job was known (queued or running). */
  cancel(jobId: string): boolean {
    const i = this.queue.findIndex((j) => j.jobId === jobId);
    if (i >= 0) {
      const [queued] = this.queue.splice(i, 1);
      this.tell(queued!, { type: 'cancelled', jobId });
      return true;
    }
    const job = this.current;
    if (job?.jobId !== jobId) return false;
    if (job.cancelRequested) return true;
    job.cancelRequested = true;
    this.proc?.send({ type: 'cancel', jobId });
    // Cancellation is checked between network calls; one that never returns (a hung GPU driver)
    // would block forever, so the process is replaced instead.
    this.cancelTimer = setTimeout(() => {
      if (this.current === job) this.proc?.kill();
    }, this.opts.cancelGraceMs ?? 15_000);
    return true;
  }

  /**
   * A request answered with a `reply` message (probe, validate, export, write-mask, estimate,
   * load-result): its value, or a UserError with the service's line. Rejects with
   * ServiceStoppedError if the service dies.
   */
  request<T>(msg: DistributiveOmit<Extract<ToService, { type: 'probe' | 'validate' | 'export' | 'write-mask' | 'estimate' | 'load-result' }>, 'requestId'>): Promise<T> {
    return this.send<T>(msg);
  }

  /** A request answered by a message of its own (display, read-mask, detect-damage): that message, as validated. */
  ask<K extends keyof Answers>(msg: Omit<Extract<ToService, { type: K }>, 'requestId'>): Promise<Answers[K]> {
    return this.send<Answers[K]>(msg);
  }

  private send<T>(msg: object): Promise<T> {
    const requestId = `r${++this.nextRequest}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
      this.start();
      this.whenReady(() => this.proc?.send({ ...msg, requestId } as ToService));
    });
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.cancelTimer);
    for (const job of this.queue.splice(0)) this.tell(job, { type: 'cancelled', jobId: job.jobId });
    for (const p of this.pending.values()) p.reject(new Error('the app is closing'));
    this.pending.clear();
    this.proc?.kill();
    this.proc = undefined;
  }

  private setState(state: ServiceState, message?: string): void {
    this.state = state;
    this.stateMessage = message;
    this.opts.onState?.(state, message);
  }

  private launch(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.ready = false;
    this.setState(this.restarts.length ? 'restarting' : 'starting');
    let proc: ServiceProcess;
    try {
      proc = this.spawn();
    } catch (e) {
      this.proc = undefined;
      this.died(`could not be started (${(e as Error).message})`);
      return;
    }
    this.proc = proc;
    proc.onMessage((raw) => {
      if (this.proc === proc) this.receive(raw);
    });
    proc.onExit((code, signal) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.ready = false;
      if (!this.disposed) this.died(signal ? `stopped (signal ${signal})` : `stopped (exit code ${code})`);
    });
  }

  private receive(raw: unknown): void {
    const proc = this.proc;
    const parsed = safeParse(fromServiceSchema, raw);
    if (!parsed.ok) {
      console.error(`[main] ignored a malformed message from the service: ${parsed.error}`);
      return;
    }
    const msg: FromService = parsed.value;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        if (this.opts.configure) proc?.send({ type: 'configure', ...this.opts.configure });
        this.setState('ready');
        for (const f of this.waiting.splice(0)) f();
        this.pump();
        return;
      case 'reply': {
        const p = this.pending.get(msg.requestId);
        this.pending.delete(msg.requestId);
        if (msg.ok) p?.resolve(msg.value);
        // The service has already made its error one line for a person (service.ts userMessage).
        else p?.reject(new UserError(msg.error ?? 'the service failed'));
        return;
      }
      case 'display-copy':
      case 'mask': {
        const p = this.pending.get(msg.requestId);
        this.pending.delete(msg.requestId);
        p?.resolve(msg);
        return;
      }
      case 'memory-probe': {
        const { requestId } = msg;
        const probe = this.opts.memoryProbe;
        const answer = (result: Omit<Extract<ToService, { type: 'memory-probe-result' }>, 'type' | 'requestId'>): void => {
          // Only to the process that asked: a restarted service has forgotten the request.
          if (this.proc === proc) proc?.send({ type: 'memory-probe-result', requestId, ...result });
        };
        if (!probe) answer({ ok: false, error: 'this app runs no memory probes' });
        else
          probe(msg.request).then(
            (peaks) => answer({ ok: true, peaks }),
            (e: unknown) => answer({ ok: false, error: String((e as Error)?.message ?? e).slice(0, 8192) }),
          );
        return;
      }
      case 'started':
      case 'progress':
        if (this.current && msg.jobId === this.current.jobId) this.tell(this.current, msg);
        return;
      case 'done':
      case 'file-done':
      case 'failed':
      case 'cancelled': {
        const job = this.current;
        if (!job || msg.jobId !== job.jobId) return;
        this.finish();
        this.tell(job, msg);
        this.pump();
        return;
      }
    }
  }

  private finish(): void {
    clearTimeout(this.cancelTimer);
    this.current = undefined;
  }

  private whenReady(f: () => void): void {
    if (this.ready) f();
    else this.waiting.push(f);
  }

  private pump(): void {
    if (this.current || !this.ready || !this.proc) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    if (job.file) {
      const { cancelRequested: _, file: _listener, ...msg } = job;
      this.proc.send({ type: 'restore-file', ...msg });
    } else {
      const { cancelRequested: _, file: _none, ...run } = job;
      this.proc.send({ type: 'run', ...run });
    }
  }

  private died(why: string): void {
    const window = this.opts.restartWindowMs ?? 60_000;
    const now = Date.now();
    while (this.restarts.length && now - this.restarts[0]! > window) this.restarts.shift();
    // Crashing in a loop (a broken driver, a bad install) stops until the user asks again.
    const restart = this.restarts.length < (this.opts.maxRestarts ?? 3);
    const job = this.current;
    this.finish();
    if (job) {
      if (job.cancelRequested) this.tell(job, { type: 'cancelled', jobId: job.jobId });
      else
        this.tell(job, {
          type: 'failed',
          jobId: job.jobId,
          message: `The restoration service ${why} before the job finished. ${restart ? 'It is being restarted; run the job again.' : 'It will be started again on the next run.'}`,
        });
    }
    for (const p of this.pending.values()) p.reject(new ServiceStoppedError(`the restoration service ${why}`));
    this.pending.clear();
    this.waiting.length = 0;
    if (!restart) {
      this.restarts.length = 0;
      for (const q of this.queue.splice(0)) this.tell(q, { type: 'failed', jobId: q.jobId, message: `The restoration service keeps stopping (${why}).` });
      this.setState('down', `The restoration service ${why} repeatedly; it will be started again on the next run.`);
      return;
    }
    this.restarts.push(now);
    this.setState('restarting', `The restoration service ${why}; restarting.`);
    this.restartTimer = setTimeout(() => this.launch(), this.opts.restartDelayMs ?? 250 * 2 ** (this.restarts.length - 1));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
