// The callback records in the store's coordination state, and the intake that writes them
// when a submit carries callbackUrl.
//
//   callback/<taskId>       pending: the URL, attempts made, when the next may go
//   callback-done/<taskId>  delivered or failed for good, kept (ttl) as long as ended tasks
//
// A record is written before the submit is answered, so every acknowledged callback is in
// the store; it goes only once the receiver took the task JSON (2xx) or the attempts ran
// out. The tombstone lets an idempotent resubmit (same key, 200) tell "already called
// back" from "the first submit died between the task and its record" (then it writes the
// record the first submit could not).
import type { Clock, Json } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { CallbackGuard } from './guard.ts';

export const PENDING_PREFIX = 'callback/';
export const DONE_PREFIX = 'callback-done/';

export interface CallbackRecord {
  url: string;
  tenant: string;
  /** Attempts made so far. */
  attempts: number;
  /** The next attempt goes no earlier than this (epoch ms, the delivering node's clock); 0: once the task ends. */
  nextAttemptAtMs: number;
  createdAtMs: number;
  lastStatus?: number;
  lastError?: string;
}

export interface DoneRecord {
  url: string;
  outcome: 'delivered' | 'failed';
  attempts: number;
  atMs: number;
  lastStatus?: number;
  lastError?: string;
}

export const pendingKey = (taskId: string) => PENDING_PREFIX + taskId;
export const doneKey = (taskId: string) => DONE_PREFIX + taskId;

/** The record in a state entry, or null when it is not one (written by something else). */
export function asRecord(value: Json): CallbackRecord | null {
  const v = value as Partial<CallbackRecord> | null;
  if (!v || typeof v !== 'object' || typeof v.url !== 'string' || typeof v.attempts !== 'number' || typeof v.nextAttemptAtMs !== 'number') return null;
  return v as CallbackRecord;
}

export interface CallbackRecordsOptions {
  store: Pick<Store, 'putState' | 'getState'>;
  clock: Clock;
  guard: CallbackGuard;
}

/** What the server's submit routes call: the URL check, and the record before the answer. */
export class CallbackRecords {
  private readonly o: CallbackRecordsOptions;

  constructor(o: CallbackRecordsOptions) {
    this.o = o;
  }

  /** Why a callback may not go to this URL, or null (resolves the host; see CallbackGuard). */
  urlProblem(url: string): Promise<string | null> {
    return this.o.guard.urlProblem(url);
  }

  /**
   * Records that the task's end goes to `url`. For a task the submit created, always; for
   * the first task of a repeated idempotency key, only when it has neither a pending record
   * nor a tombstone (the first submit's URL stands).
   */
  async register(task: { id: string; tenant: string }, url: string, isNew: boolean): Promise<void> {
    const { store } = this.o;
    if (!isNew && ((await store.getState(pendingKey(task.id))) || (await store.getState(doneKey(task.id))))) return;
    const record: CallbackRecord = { url, tenant: task.tenant, attempts: 0, nextAttemptAtMs: 0, createdAtMs: this.o.clock.now() };
    await store.putState(pendingKey(task.id), record as unknown as Json);
  }
}
