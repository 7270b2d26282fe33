// One attempt of one task on one worker, whatever the worker's kind: hands the task to the
// worker (WorkerHandle.run) with an AbortSignal, extends the lease every heartbeatMs, and
// cuts the attempt short on its timeout, a lost lease, a stall (no progress for
// stallTimeoutMs), the worker's crash or a hard shutdown. Recording the outcome in the
// store is the pool's job; this file only runs the attempt and its timers.
//
// States: running -> ended (the worker answered: ok, error, crashed) | cut (timeout,
// lease_lost, stalled, crashed, shutdown: the signal aborts, and whatever the worker
// answers later is ignored).
import { LeaseLostError, TidepoolError, type ClaimedTask, type Clock, type Json, type TimerHandle } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { LogStream, WorkerHandle, WorkerJob } from './driver.ts';

export type CutKind = 'timeout' | 'lease_lost' | 'stalled' | 'crashed' | 'shutdown';

export type AttemptOutcome =
  | { kind: 'ok'; value: Json }
  | { kind: 'error'; error: unknown }
  | { kind: 'crashed'; error: Error }
  | { kind: 'cut'; cut: CutKind; error: TidepoolError };

export interface AttemptHooks {
  store: Store;
  clock: Clock;
  leaseMs: number;
  heartbeatMs: number;
  stallTimeoutMs: number;
  /** A heartbeat landed. */
  onHeartbeat(atMs: number): void;
  /** The attempt stalled; called before it is cut. */
  onStall(quietMs: number): void;
  /** A store error other than LeaseLost (counted and emitted by the pool). */
  onError(err: unknown, doing: string): void;
  /** A line of the task's log for this attempt. */
  onLog(stream: LogStream, text: string): void;
}

export class Attempt {
  readonly task: ClaimedTask;
  readonly startedAtMs: number;
  private lastProgressMs: number;
  private cutInfo: { kind: CutKind; error: TidepoolError } | null = null;
  private readonly controller = new AbortController();
  private readonly timers: TimerHandle[] = [];
  private readonly hooks: AttemptHooks;
  private isOver = false;
  private cutNow!: () => void;
  private readonly whenCut: Promise<void>;

  constructor(task: ClaimedTask, hooks: AttemptHooks) {
    this.task = task;
    this.hooks = hooks;
    this.startedAtMs = hooks.clock.now();
    this.lastProgressMs = this.startedAtMs;
    this.whenCut = new Promise<void>((resolve) => (this.cutNow = resolve));
  }

  get isCut(): boolean {
    return this.cutInfo !== null;
  }

  /** Runs the task on the worker until it answers or the attempt is cut short. */
  async run(worker: WorkerHandle, workerId: string): Promise<AttemptOutcome> {
    const task = this.task;
    const job: WorkerJob = {
      task,
      workerId,
      signal: this.controller.signal,
      progress: () => {
        if (!this.isOver) this.lastProgressMs = this.hooks.clock.now();
      },
      log: (stream, text) => {
        if (!this.isOver && !this.cutInfo) this.hooks.onLog(stream, text);
      },
    };
    this.arm();
    try {
      const settled = Promise.resolve()
        .then(() => worker.run(job))
        .then(
          (outcome): AttemptOutcome => outcome,
          (error): AttemptOutcome => ({ kind: 'error', error }),
        );
      const outcome = await Promise.race([settled, this.whenCut.then((): AttemptOutcome => this.cutOutcome())]);
      // A cut that landed in the same turn as the handler's result wins: the result may be stale.
      return this.cutInfo ? this.cutOutcome() : outcome;
    } finally {
      this.isOver = true;
      for (const t of this.timers) t.cancel();
    }
  }

  /** Ends the attempt early: aborts the handler's signal with `error`. The first cut wins. */
  cut(kind: CutKind, error: TidepoolError): void {
    if (this.cutInfo || this.isOver) return;
    this.cutInfo = { kind, error };
    this.controller.abort(error);
    this.cutNow();
  }

  private cutOutcome(): AttemptOutcome {
    return { kind: 'cut', cut: this.cutInfo!.kind, error: this.cutInfo!.error };
  }

  private arm(): void {
    const { clock, store, leaseMs, heartbeatMs, stallTimeoutMs } = this.hooks;
    const task = this.task;
    const beat = () => {
      this.timers.push(
        clock.setTimer(() => {
          if (this.cutInfo || this.isOver) return;
          store.heartbeat(task.id, task.leaseToken, leaseMs).then(
            () => this.hooks.onHeartbeat(clock.now()),
            (err) => {
              if (err instanceof LeaseLostError) this.cut('lease_lost', err);
              else this.hooks.onError(err, `extending the lease of task ${task.id}`);
            },
          );
          beat();
        }, heartbeatMs),
      );
    };
    beat();
    if (task.timeoutMs > 0)
      this.timers.push(
        clock.setTimer(
          () => this.cut('timeout', new TidepoolError('Timeout', `task ${task.id}: attempt ${task.attempts} passed its timeout of ${task.timeoutMs} ms`)),
          task.timeoutMs,
        ),
      );
    const watchStall = (afterMs: number) => {
      this.timers.push(
        clock.setTimer(() => {
          if (this.cutInfo || this.isOver) return;
          const quietMs = clock.now() - this.lastProgressMs;
          if (quietMs < stallTimeoutMs) return watchStall(stallTimeoutMs - quietMs);
          this.hooks.onStall(quietMs);
          this.cut('stalled', new TidepoolError('Timeout', `task ${task.id}: stalled (no progress for ${quietMs} ms >= stallTimeoutMs ${stallTimeoutMs})`));
        }, afterMs),
      );
    };
    watchStall(stallTimeoutMs);
  }
}
