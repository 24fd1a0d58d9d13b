/**
 * When the window's page crashes (webContents 'render-process-gone'), main reloads it, and the
 * reloaded page restores the autosaved session without asking. A page that crashes again at once
 * would reload forever: after `maxReloads` reloads within `windowMs`, the guard gives up and main
 * shows an error instead. No Electron here: main/index.ts connects it to the window.
 */

export interface CrashGuardOptions {
  reload: () => void;
  /** Too many crashes in a row: `crashes` is how many happened within the window. */
  giveUp: (crashes: number) => void;
  maxReloads?: number;
  windowMs?: number;
  now?: () => number;
}

export type CrashOutcome = 'reloaded' | 'gave-up' | 'ignored';

export class CrashGuard {
  private reloads: number[] = [];

  constructor(private readonly opts: CrashGuardOptions) {}

  /** The page's process is gone, for `reason` (Electron's RenderProcessGoneDetails.reason). */
  gone(reason: string): CrashOutcome {
    // A page that ended normally (the window closing) is not a crash.
    if (reason === 'clean-exit') return 'ignored';
    const now = (this.opts.now ?? Date.now)();
    const windowMs = this.opts.windowMs ?? 60_000;
    this.reloads = this.reloads.filter((t) => now - t < windowMs);
    if (this.reloads.length >= (this.opts.maxReloads ?? 2)) {
      this.opts.giveUp(this.reloads.length + 1);
      return 'gave-up';
    }
    this.reloads.push(now);
    this.opts.reload();
    return 'reloaded';
  }

  /** The person asked for another try after the guard gave up. */
  reset(): void {
    this.reloads = [];
  }
}
