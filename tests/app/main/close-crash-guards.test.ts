/**
 * Main's guards against lost work, without Electron: closing the window waits for the page's answer
 * (close at once when nothing is at stake, the person's choice otherwise, a native question when the
 * page does not answer), and a crashed page is reloaded, at most twice a minute.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseGuard } from '../../../main/close-guard.js';
import { CrashGuard } from '../../../main/crash-guard.js';

describe('close guard', () => {
  let ask: ReturnType<typeof vi.fn<() => void>>;
  let close: ReturnType<typeof vi.fn<() => void>>;
  let unanswered: ReturnType<typeof vi.fn<() => Promise<boolean>>>;
  let guard: CloseGuard;
  const closeEvent = () => ({ preventDefault: vi.fn() });

  beforeEach(() => {
    vi.useFakeTimers();
    ask = vi.fn<() => void>();
    close = vi.fn<() => void>();
    unanswered = vi.fn(async () => false);
    guard = new CloseGuard({ ask, close, unanswered, answerMs: 1000 });
  });
  afterEach(() => vi.useRealTimers());

  it('holds the close and asks the page; nothing at stake, the page answers close and the window closes without a question', () => {
    const e = closeEvent();
    guard.onClose(e);
    expect(e.preventDefault).toHaveBeenCalledTimes(1);
    expect(ask).toHaveBeenCalledTimes(1);
    expect(guard.pending).toBe(true);
    expect(guard.answer('close')).toBe(true);
    expect(close).toHaveBeenCalledTimes(1);
    // The close that follows goes through.
    const again = closeEvent();
    guard.onClose(again);
    expect(again.preventDefault).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5000);
    expect(unanswered).not.toHaveBeenCalled();
  });

  it('waits for the person while the page asks, and keeps the window when they cancel', () => {
    guard.onClose(closeEvent());
    expect(guard.answer('asking')).toBe(true);
    // The person takes their time: no native question.
    vi.advanceTimersByTime(60_000);
    expect(unanswered).not.toHaveBeenCalled();
    // A second close while the question is open does not ask twice.
    const second = closeEvent();
    guard.onClose(second);
    expect(second.preventDefault).toHaveBeenCalled();
    expect(ask).toHaveBeenCalledTimes(1);
    expect(guard.answer('stay')).toBe(true);
    expect(close).not.toHaveBeenCalled();
    expect(guard.pending).toBe(false);
    // Closing again asks again.
    const third = closeEvent();
    guard.onClose(third);
    expect(third.preventDefault).toHaveBeenCalled();
    expect(ask).toHaveBeenCalledTimes(2);
  });

  it('ignores answers nobody waits for', () => {
    expect(guard.answer('close')).toBe(false);
    expect(close).not.toHaveBeenCalled();
  });

  it('asks natively when the page does not answer, and closes only if the person says so', async () => {
    guard.onClose(closeEvent());
    await vi.advanceTimersByTimeAsync(999);
    expect(unanswered).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(unanswered).toHaveBeenCalledTimes(1);
    expect(close).not.toHaveBeenCalled();
    // A late answer from the page after the native question is ignored.
    expect(guard.answer('close')).toBe(false);
    unanswered.mockResolvedValueOnce(true);
    guard.onClose(closeEvent());
    await vi.advanceTimersByTimeAsync(1000);
    expect(unanswered).toHaveBeenCalledTimes(2);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('forgets a question whose page crashed', () => {
    guard.onClose(closeEvent());
    guard.answer('asking');
    guard.pageGone();
    expect(guard.pending).toBe(false);
    guard.onClose(closeEvent());
    expect(ask).toHaveBeenCalledTimes(2);
  });
});

describe('crash guard', () => {
  it('reloads a crashed page twice within a minute, gives up at the third crash, and reloads again later', () => {
    let now = 0;
    const reload = vi.fn();
    const giveUp = vi.fn();
    const guard = new CrashGuard({ reload, giveUp, now: () => now });
    expect(guard.gone('crashed')).toBe('reloaded');
    now += 10_000;
    expect(guard.gone('oom')).toBe('reloaded');
    now += 10_000;
    expect(guard.gone('crashed')).toBe('gave-up');
    expect(reload).toHaveBeenCalledTimes(2);
    expect(giveUp).toHaveBeenCalledWith(3);
    // A minute after the first crash, one reload is allowed again.
    now = 60_000;
    expect(guard.gone('killed')).toBe('reloaded');
    expect(guard.gone('crashed')).toBe('gave-up');
    // Trying again after the person asked for it.
    guard.reset();
    expect(guard.gone('crashed')).toBe('reloaded');
    expect(reload).toHaveBeenCalledTimes(4);
  });

  it('does not reload a page that ended normally', () => {
    const reload = vi.fn();
    const guard = new CrashGuard({ reload, giveUp: vi.fn() });
    expect(guard.gone('clean-exit')).toBe('ignored');
    expect(reload).not.toHaveBeenCalled();
  });
});
