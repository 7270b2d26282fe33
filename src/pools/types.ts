// The Pool interface: a set of workers serving one or more task types.
import type { PoolStats, WorkerInfo } from '../core/index.ts';

/** What a handler gets besides the payload (a public contract: at least id, attempt, signal). */
export interface TaskContext {
  id: string;
  attempt: number;
  /** Fires when the task's timeout passes, it is cancelled, or the pool shuts down hard. */
  signal: AbortSignal;
  type: string;
  tenant: string;
  workerId: string;
  /** Reports progress: resets the stall clock (a task quiet for stallTimeoutMs counts as a stall). */
  progress(): void;
  /** Adds a line to the task's log for this attempt (arguments formatted as console.log does). */
  log(...args: unknown[]): void;
}

/** `async (payload, ctx) => result`; the result is stored as JSON (undefined becomes null). */
export type Handler = (payload: any, ctx: TaskContext) => unknown;
export type HandlerMap = Record<string, Handler>;

/** What the autoscaler's observation needs from a pool beyond stats(). */
export interface PoolFacts {
  /** Mean run time over the window, ms (PoolStats has percentiles only). */
  runMeanMs: number;
  /** The window stats are drawn over, ms. */
  windowMs: number;
  /** Measured worker start-up (spawn to ready), p95 over the window, ms (0 before any). */
  startupMs: number;
  /** Start-ups the figure is drawn from (0: none measured yet). */
  startupSamples: number;
}

export interface Pool {
  readonly name: string;
  /** The worker kind (inline, thread, command, process, remote). */
  readonly kind: string;
  readonly types: readonly string[];
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Sets the desired number of workers: adds at once, removes idle first, then drains busy ones. */
  scaleTo(n: number): void;
  stats(): PoolStats;
  workers(): WorkerInfo[];
  /** Stops taking tasks, waits up to timeoutMs for running ones, then aborts them. */
  close(timeoutMs?: number): Promise<void>;
  /** Changes the bounds at runtime (the autoscaler then clamps its target to them). */
  setBounds(minWorkers: number, maxWorkers: number): void;
  /** The count the pool is heading to (last scaleTo). */
  readonly target: number;
  /** Facts for the autoscaler's observation (run mean, window, measured start-up). */
  facts(): PoolFacts;
  /** Shares a queue depth an observer already read from the store (stats().queueDepth shows it). */
  noteQueueDepth(depth: number): void;
}
