// A row of a SQL `tasks` table as a Task, and the id scheme (seq in 12 hex digits plus a
// random 14-hex-digit tail, so a lookup by id is a primary-key lookup). The SQLite and
// PostgreSQL adapters share the column names; each passes its row and the task's id.
import { randomBytes } from 'node:crypto';
import type { ClaimedTask, Json, Task, TaskError, TaskStatus } from '../../core/index.ts';

const ID_PATTERN = /^[0-9a-f]{26}$/;

// Random bytes for id tails, drawn 4 KiB at a time (one crypto call per 585 tasks).
let randomPool = randomBytes(4096);
let randomAt = 0;

/** A fresh random id tail: 14 hex digits. */
export function newIdTail(): string {
  if (randomAt + 7 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomAt = 0;
  }
  randomAt += 7;
  return randomPool.toString('hex', randomAt - 7, randomAt);
}

export function formatId(seq: number, tail: string): string {
  return seq.toString(16).padStart(12, '0') + tail;
}

/** The row key an id stands for; an id of another shape matches no row. */
export function idKey(taskId: string): { seq: number; tail: string } {
  if (typeof taskId !== 'string' || !ID_PATTERN.test(taskId)) return { seq: -1, tail: '' };
  return { seq: parseInt(taskId.slice(0, 12), 16), tail: taskId.slice(12) };
}

/** The columns of `tasks` both SQL adapters store (JSON columns as text). */
export interface TaskColumns {
  type: string;
  tenant: string;
  /** '' when the task names no region (names are never empty, and an equality keeps the ready index usable). */
  region: string | null;
  status: string;
  priority: number;
  run_at_ms: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  idempotency_key: string | null;
  payload: string;
  result: string | null;
  error: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  started_at_ms: number | null;
  finished_at_ms: number | null;
  worker_id: string | null;
  lease_token: string | null;
  lease_expires_at_ms: number | null;
}

export function taskFromColumns(row: TaskColumns, id: string): Task {
  return {
    id,
    type: row.type,
    payload: JSON.parse(row.payload) as Json,
    priority: row.priority,
    runAtMs: row.run_at_ms,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    tenant: row.tenant,
    region: row.region || null,
    idempotencyKey: row.idempotency_key,
    status: row.status as TaskStatus,
    result: row.result === null ? null : (JSON.parse(row.result) as Json),
    error: row.error === null ? null : (JSON.parse(row.error) as TaskError),
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
    startedAtMs: row.started_at_ms,
    finishedAtMs: row.finished_at_ms,
    workerId: row.worker_id,
    leaseExpiresAtMs: row.lease_expires_at_ms,
  };
}

export function claimedFromColumns(row: TaskColumns, id: string): ClaimedTask {
  return { ...taskFromColumns(row, id), leaseToken: row.lease_token! };
}
