// Holds ?wait=MS requests until their task ends: one store subscription serves every
// waiting request. Timers come from the injected Clock.
import type { Clock, Task } from '../core/index.ts';
import { FINAL_STATUSES } from '../core/index.ts';
import type { Store } from '../store/index.ts';

/**
 * A held request re-reads its task this often, ms. On stores whose events reach every
 * process (PostgreSQL, Redis) another node's end arrives as a notification, and the re-read
 * is only a safety net; a SQLite file shared by processes has no notifications, so there a
 * short poll finds another process's end.
 */
export const RECHECK_MS = 250;
export const RECHECK_SHARED_MS = 10_000;

export class TaskWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;
  private readonly clock: Clock;
  private readonly recheckMs: number;
  private isClosed = false;

  constructor(store: Store, clock: Clock) {
    this.clock = clock;
    this.recheckMs = store.eventReach === 'shared' ? RECHECK_SHARED_MS : RECHECK_MS;
    this.unsubscribe = store.subscribe((event) => {
      if (event.kind !== 'finished') return;
      const wakers = this.waiting.get(event.task.id);
      if (!wakers) return;
      this.waiting.delete(event.task.id);
      for (const wake of wakers) wake();
    });
  }

  /**
   * Resolves when the task ends, `ms` passes or `signal` aborts, then reads it again.
   * `read` is called after registering, so an end between read and wait is not missed.
   * The task is also re-read every RECHECK_MS, for tasks another process (sharing the
   * store) finishes: this process hears no event for those.
   */
  async waitForEnd(taskId: string, ms: number, read: () => Promise<Task | null>, signal?: AbortSignal): Promise<Task | null> {
    const deadlineMs = this.clock.now() + ms;
    let task = await this.waitOnce(taskId, Math.min(ms, this.recheckMs), read, signal);
    while (task && !isEnded(task) && !signal?.aborted && !this.isClosed) {
      const leftMs = deadlineMs - this.clock.now();
      if (leftMs <= 0) break;
      task = await this.waitOnce(taskId, Math.min(leftMs, this.recheckMs), read, signal);
    }
    return task;
  }

  private async waitOnce(taskId: string, ms: number, read: () => Promise<Task | null>, signal?: AbortSignal): Promise<Task | null> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.waiting.get(taskId);
    if (!set) this.waiting.set(taskId, (set = new Set()));
    set.add(wake);
    const timer = this.clock.setTimer(wake, ms);
    const onAbort = () => wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const first = await read();
      if (!first || isEnded(first) || signal?.aborted || this.isClosed) return first;
      await woken;
      return await read();
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      const s = this.waiting.get(taskId);
      if (s) {
        s.delete(wake);
        if (s.size === 0) this.waiting.delete(taskId);
      }
    }
  }

  /** Requests currently held. */
  get heldCount(): number {
    let n = 0;
    for (const s of this.waiting.values()) n += s.size;
    return n;
  }

  close(): void {
    this.isClosed = true;
    this.unsubscribe();
    for (const set of this.waiting.values()) for (const wake of set) wake();
    this.waiting.clear();
  }
}

export function isEnded(task: Task): boolean {
  return FINAL_STATUSES.includes(task.status);
}
