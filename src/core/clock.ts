// The only place that reads the wall clock or arms timers. Everything else takes a Clock,
// so tests and the simulator run in virtual time.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs fn after ms; the handle cancels it. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Resolves after ms, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      handle.cancel();
      reject(signal!.reason);
    };
    const handle = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

/** Monotonic high-resolution milliseconds, for measuring durations (benchmarks, latency). */
export function monotonicMs(): number {
  return performance.now();
}

/** Runs fn on the next turn of the event loop (after I/O), so long loops yield. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const systemClock: Clock = new SystemClock();

interface VirtualTimer {
  atMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires due timers in time order,
 * letting promise continuations run between them, so async code driven by timers
 * behaves as it would in real time. `set(ms)` may also move time backwards, to test
 * code against a clock that steps back.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { atMs: this.nowMs + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Timers still armed. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by ms, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const endMs = this.nowMs + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.nextDue(endMs);
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.cancelled = true;
      next.fn();
    }
    this.nowMs = endMs;
    await flushMicrotasks();
  }

  /** Sets the time outright (may go backwards); fires nothing. */
  set(ms: number): void {
    this.nowMs = ms;
  }

  private nextDue(endMs: number): VirtualTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (t.atMs > endMs) continue;
      if (!best || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets pending promise continuations run (several rounds, for chained awaits). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
