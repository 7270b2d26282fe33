// The seam between the pool and one kind of worker. The pool (pool.ts) owns everything
// that does not depend on what a worker is: the worker list and its statuses, dispatch
// (claiming tasks from the store), leases and heartbeats, timeouts and stall detection,
// drain on scale-down, recycling after maxTasksPerWorker, respawn with backoff, window
// stats and health. A WorkerDriver owns only what differs per kind:
//
//   start(spec)      spawn one worker and resolve once it is ready to take a task (the
//                    pool measures spawn -> ready as the worker's start-up); reject when it
//                    cannot start (a failed start, not a timeout).
//   handle.run(job)  run one task on that worker: job.signal aborts it (timeout, lease lost,
//                    stall, shutdown), job.progress() resets the stall clock, job.log()
//                    keeps a line of the task's log. Resolves with the task's outcome:
//                    `ok`, `error` (the handler failed; the worker lives on), or `crashed`
//                    (the worker died with the task: its attempt fails as WorkerCrashed).
//   handle.stop(mode)'drain': let the worker finish and exit cleanly; 'kill': end it now
//                    (kinds that cannot be killed, such as inline, just let go of it).
//   handle.exited    settles when the worker ends on its own (crash, exit) at any time,
//                    idle or busy; the pool then fails its task if any and respawns it.
//
// Kinds are contract names (config key `pools[i].kind`): inline (async handlers in this
// process, the default), thread (worker_threads), command (a program per task), process
// (long-lived worker processes speaking the worker protocol), remote (workers on other
// machines). createTidepool() (src/tidepool.ts) is the one place that picks a driver by kind.
import type { ClaimedTask, Json, LogStream, WorkerKind } from '../core/index.ts';

export type { LogStream, WorkerKind };

/** One task handed to one worker. */
export interface WorkerJob {
  task: ClaimedTask;
  workerId: string;
  /** Aborts with the reason (a TidepoolError) when the attempt is cut short. */
  signal: AbortSignal;
  /** The task made progress: resets its stall clock. */
  progress(): void;
  /** Keeps one line of the task's log for this attempt. */
  log(stream: LogStream, text: string): void;
}

export type WorkerOutcome =
  | { kind: 'ok'; value: Json }
  /** The task failed; `error` is whatever the handler threw (message, code, retryable are read). */
  | { kind: 'error'; error: unknown }
  /** The worker died while running the task (exit, thread error, lost connection). */
  | { kind: 'crashed'; error: Error };

/** Why a worker ended on its own. */
export interface WorkerExit {
  /** A sentence for the event log: exit code, signal or the error. */
  reason: string;
  error?: Error;
  /**
   * Ended by a signal Tidepool did not send (SIGKILL or SIGTERM from an operator, a script,
   * the OOM killer): says nothing about whether the kind can run, so a worker that was ready
   * counts as a crash, not as an early exit (pool.ts).
   */
  isExternalKill?: boolean;
}

export type StopMode = 'drain' | 'kill';

export interface WorkerHandle {
  run(job: WorkerJob): Promise<WorkerOutcome>;
  stop(mode: StopMode): Promise<void>;
  /** Settles (never rejects) when the worker ends by itself; stop() does not settle it. */
  readonly exited: Promise<WorkerExit>;
}

export interface WorkerSpec {
  /** The id the pool gave this worker (also the claim's workerId). */
  workerId: string;
  /** Aborts when the pool no longer wants the worker (scaled down or closing while starting). */
  signal: AbortSignal;
}

export interface WorkerDriver {
  readonly kind: WorkerKind;
  /** Whether stop('kill') ends a running task (inline cannot: its code shares this process). */
  readonly canKill: boolean;
  /** The task types this driver can run (the pool checks its types against it). */
  readonly types?: readonly string[];
  /** May return the handle itself when the worker is ready at once (inline with no start-up). */
  start(spec: WorkerSpec): WorkerHandle | Promise<WorkerHandle>;
  /** Releases what the driver holds for all its workers (after every worker stopped). */
  close?(): Promise<void>;
}
