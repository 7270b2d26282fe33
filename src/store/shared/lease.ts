// What adapters say when a lease is refused, and the stored shape of a task error.
import type { TaskError, TaskStatus } from '../../core/index.ts';

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

/** `{message, code?}` with strings only, whatever a handler threw. */
export function normalizeError(error: TaskError): TaskError {
  const message = typeof error?.message === 'string' ? error.message : String(error?.message ?? error);
  return error?.code === undefined ? { message } : { message, code: String(error.code) };
}
