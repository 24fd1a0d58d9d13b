/**
 * Closing the window (or quitting) asks first when that would lose work. Main cannot tell what is
 * at stake (a painted mask, an unexported result, a running restoration live in the page), so the
 * close is held and the page asked (event close-requested); it answers through the validated
 * request answerClose: 'close' at once when nothing is at stake, else 'asking' while the person
 * decides in the page's own dialog, then 'close' (Quit without saving) or 'stay' (Cancel). A page
 * that does not answer at all (hung, or gone after a crash) gets the question asked natively.
 * No Electron here: main/index.ts connects it to the window's 'close' event.
 */

export type CloseAnswer = 'asking' | 'close' | 'stay';

export interface CloseGuardOptions {
  /** Asks the page (sends close-requested). */
  ask: () => void;
  /** Closes the window for good (this time the guard lets the close through). */
  close: () => void;
  /** The page did not answer in time: whether to close anyway (a native dialog). */
  unanswered: () => Promise<boolean>;
  /** How long the page has to answer (with 'asking' at least). */
  answerMs?: number;
}

export class CloseGuard {
  private allowed = false;
  /** A close is held, waiting for the page; 'asked' once the page said it is asking the person. */
  private state: 'idle' | 'waiting' | 'asked' | 'native' = 'idle';
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: CloseGuardOptions) {}

  /** Whether the page's answer is awaited (a page's answer at any other time is ignored). */
  get pending(): boolean {
    return this.state === 'waiting' || this.state === 'asked';
  }

  /** The window's 'close' event: let it through once allowed, otherwise hold it and ask the page. */
  onClose(event: { preventDefault(): void }): void {
    if (this.allowed) return;
    event.preventDefault();
    if (this.state !== 'idle') return;
    this.state = 'waiting';
    this.timer = setTimeout(() => void this.askNatively(), this.opts.answerMs ?? 4000);
    this.opts.ask();
  }

  /** The page's answer (answerClose); true when it was awaited. */
  answer(answer: CloseAnswer): boolean {
    if (!this.pending) return false;
    clearTimeout(this.timer);
    if (answer === 'asking') {
      this.state = 'asked';
      return true;
    }
    this.state = 'idle';
    if (answer === 'close') this.closeNow();
    return true;
  }

  /** Closes without asking (the app is told to quit when the page cannot be asked, e.g. a crash loop). */
  closeNow(): void {
    clearTimeout(this.timer);
    this.allowed = true;
    this.opts.close();
  }

  /** The page is gone (it crashed): a question it was asking is no longer on screen. */
  pageGone(): void {
    if (this.state === 'asked' || this.state === 'waiting') {
      clearTimeout(this.timer);
      this.state = 'idle';
    }
  }

  private async askNatively(): Promise<void> {
    if (this.state !== 'waiting') return;
    this.state = 'native';
    let close = false;
    try {
      close = await this.opts.unanswered();
    } finally {
      this.state = 'idle';
    }
    if (close) this.closeNow();
  }
}
