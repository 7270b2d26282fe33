// The task state machine, written once: pure functions every adapter calls; adapters only
// persist what these return (computed values passed into their statements or scripts).
//
// States and transitions (status names are a public contract, see core/types.ts):
//   queued    --claim--> running          --cancel--> cancelled
//   retrying  --claim--> running          --cancel--> cancelled
//   running   --complete--> succeeded
//             --fail--> retrying (attempts left, retryable) | dead (otherwise)
//             --leaseExpired--> retrying (attempts left; due at once) | dead
//             --cancel--> cancelled (the lease is revoked; a late result is refused)
//   dead      --retryDead--> queued (attempts reset)
//   succeeded, cancelled: final
import { TaskConflictError } from '../core/index.ts';
import type { SubmitInput, TaskError, TaskStatus } from '../core/index.ts';
import { DEFAULT_TENANT } from './shared/options.ts';

export type TaskEvent = 'claim' | 'complete' | 'fail' | 'leaseExpired' | 'cancel' | 'retryDead';

/**
 * The statuses an event may move a task in `from` to; empty when the event is not allowed.
 * Two targets: the function for that event (onFail, onLeaseExpired) picks one.
 */
export function allowedMoves(from: TaskStatus, event: TaskEvent): readonly TaskStatus[] {
  switch (event) {
    case 'claim':
      return from === 'queued' || from === 'retrying' ? ['running'] : [];
    case 'complete':
      return from === 'running' ? ['succeeded'] : [];
    case 'fail':
    case 'leaseExpired':
      return from === 'running' ? ['retrying', 'dead'] : [];
    case 'cancel':
      return isCancellable(from) ? ['cancelled'] : [];
    case 'retryDead':
      return from === 'dead' ? ['queued'] : [];
    default: {
      const never: never = event;
      throw new Error(`unknown task event ${String(never)}`);
    }
  }
}

function isCancellable(status: TaskStatus): boolean {
  switch (status) {
    case 'queued':
    case 'retrying':
    case 'running':
      return true;
    case 'succeeded':
    case 'dead':
    case 'cancelled':
      return false;
    default: {
      const never: never = status;
      throw new Error(`unknown task status ${String(never)}`);
    }
  }
}

/** Whether a task in this status is pending (can be claimed once due). */
export function isPending(status: TaskStatus): boolean {
  return allowedMoves(status, 'claim').length > 0;
}

/** Whether a task in this status has ended (never moves by itself again). */
export function isFinal(status: TaskStatus): status is 'succeeded' | 'dead' | 'cancelled' {
  switch (status) {
    case 'succeeded':
    case 'dead':
    case 'cancelled':
      return true;
    case 'queued':
    case 'retrying':
    case 'running':
      return false;
    default: {
      const never: never = status;
      throw new Error(`unknown task status ${String(never)}`);
    }
  }
}

export interface AttemptFacts {
  attempts: number;
  maxAttempts: number;
}

export type FailOutcome = { status: 'retrying'; runAtMs: number } | { status: 'dead' };

/**
 * A failed attempt: retrying after the backoff while attempts are left and the failure is
 * retryable, dead otherwise. `backoffMs` is called only when the task retries.
 */
export function onFail(task: AttemptFacts, isRetryable: boolean, nowMs: number, backoffMs: () => number): FailOutcome {
  if (!isRetryable || task.attempts >= task.maxAttempts) return { status: 'dead' };
  return { status: 'retrying', runAtMs: nowMs + backoffMs() };
}

export interface LeaseFacts extends AttemptFacts {
  workerId: string | null;
  leaseExpiresAtMs: number | null;
}

export interface LeaseExpiredOutcome {
  status: 'retrying' | 'dead';
  /** Due at once when retrying. */
  runAtMs: number;
  error: TaskError;
}

/** Whether a running task's lease has expired at `nowMs` (expiry is inclusive). */
export function isLeaseExpired(leaseExpiresAtMs: number | null, nowMs: number): boolean {
  return leaseExpiresAtMs !== null && leaseExpiresAtMs <= nowMs;
}

/** A running task whose lease expired: the attempt counts; retrying at once, or dead once attempts are used. */
export function onLeaseExpired(task: LeaseFacts, nowMs: number): LeaseExpiredOutcome {
  const error: TaskError = {
    code: 'LeaseExpired',
    message: `lease of worker ${task.workerId} expired at ${task.leaseExpiresAtMs} during attempt ${task.attempts}`,
  };
  return { status: task.attempts >= task.maxAttempts ? 'dead' : 'retrying', runAtMs: nowMs, error };
}

/** Null when a task in `status` may be cancelled; the TaskConflictError to throw otherwise. */
export function cancelRefusal(taskId: string, status: TaskStatus): TaskConflictError | null {
  if (allowedMoves(status, 'cancel').length > 0) return null;
  return new TaskConflictError(`task ${taskId} is ${status}; only queued, retrying or running tasks can be cancelled`);
}

/** Null when a task in `status` may be retried by hand; the TaskConflictError to throw otherwise. */
export function retryDeadRefusal(taskId: string, status: TaskStatus): TaskConflictError | null {
  if (allowedMoves(status, 'retryDead').length > 0) return null;
  return new TaskConflictError(`task ${taskId} is ${status}; only dead tasks can be retried`);
}

/** Why a lease token no longer fits a task in this status (the LeaseLostError detail). */
export function leaseLostDetail(status: TaskStatus): string {
  switch (status) {
    case 'running':
      return 'the lease expired and the task was claimed again by another worker';
    case 'queued':
    case 'retrying':
      return `the lease expired and the task went back to the queue (${status})`;
    case 'succeeded':
    case 'dead':
      return `the task already ended (${status})`;
    case 'cancelled':
      return 'the task was cancelled and its lease revoked';
    default: {
      const never: never = status;
      return `unexpected status ${String(never)}`;
    }
  }
}

/** The key idempotency is scoped by: (tenant, idempotencyKey). */
export function idempotencyScope(input: SubmitInput): string | null {
  return input.idempotencyKey === undefined ? null : `${input.tenant ?? DEFAULT_TENANT}\u0000${input.idempotencyKey}`;
}

/**
 * Idempotency inside one batch: for each input, the index of the earlier input with the
 * same (tenant, key), whose result it shares, or -1 when it is the first of its key (or
 * has none). Adapters then look the first ones up in the store.
 */
export function planBatch(inputs: readonly SubmitInput[]): number[] {
  const first = new Map<string, number>();
  return inputs.map((input, i) => {
    const scope = idempotencyScope(input);
    if (scope === null) return -1;
    const earlier = first.get(scope);
    if (earlier !== undefined) return earlier;
    first.set(scope, i);
    return -1;
  });
}
