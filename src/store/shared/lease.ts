// The stored shape of a task error (and, re-exported, what adapters say when a lease is refused).
import type { TaskError } from '../../core/index.ts';

export { leaseLostDetail } from '../transitions.ts';

/** `{message, code?}` with strings only, whatever a handler threw. */
export function normalizeError(error: TaskError): TaskError {
  const message = typeof error?.message === 'string' ? error.message : String(error?.message ?? error);
  return error?.code === undefined ? { message } : { message, code: String(error.code) };
}
