// A task as the Redis scripts return it: the values of FIELDS in order (null when a field
// is absent, which stands for a null column), optionally followed by the lease token.
import type { ClaimedTask, Json, Task, TaskError, TaskStatus } from '../../core/index.ts';
import type { FinishedTask } from '../types.ts';

/** The hash fields of a task, in the order the scripts' taskFields() returns them. */
export const FIELDS = ['id', 'ty', 'pl', 'pr', 'ra', 'at', 'ma', 'to', 'tn', 'ik', 'st', 'rs', 'er', 'ca', 'ua', 'sa', 'fa', 'wk', 'le', 'rg'] as const;

export type Row = (string | null)[];

const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

export function toTask(row: Row): Task {
  return {
    id: row[0]!,
    type: row[1]!,
    payload: JSON.parse(row[2] ?? 'null') as Json,
    priority: Number(row[3]),
    runAtMs: Number(row[4]),
    attempts: Number(row[5]),
    maxAttempts: Number(row[6]),
    timeoutMs: Number(row[7]),
    tenant: row[8]!,
    region: row[19] || null,
    idempotencyKey: row[9],
    status: row[10] as TaskStatus,
    result: row[11] === null ? null : (JSON.parse(row[11]) as Json),
    error: row[12] === null ? null : toError(row[12]),
    createdAtMs: Number(row[13]),
    updatedAtMs: Number(row[14]),
    startedAtMs: num(row[15]),
    finishedAtMs: num(row[16]),
    workerId: row[17],
    leaseExpiresAtMs: num(row[18]),
  };
}

export function toClaimed(row: Row): ClaimedTask {
  return { ...toTask(row), leaseToken: row[FIELDS.length]! };
}

function toError(json: string): TaskError {
  const e = JSON.parse(json) as { message?: unknown; code?: unknown };
  const message = String(e.message ?? '');
  return e.code === undefined || e.code === null ? { message } : { message, code: String(e.code) };
}

/** A finished event's snapshot as the scripts send it: id, ty, tn, st, at, ca, ra, sa, fa (false or null when absent). */
export type FinishedRow = (string | false | null)[];

export function toFinished(row: FinishedRow): FinishedTask {
  const at = (i: number) => (row[i] === false || row[i] === null || row[i] === undefined ? null : Number(row[i]));
  return {
    id: String(row[0]),
    type: String(row[1]),
    tenant: String(row[2]),
    status: row[3] as FinishedTask['status'],
    attempts: Number(row[4]),
    createdAtMs: Number(row[5]),
    runAtMs: Number(row[6]),
    startedAtMs: at(7),
    finishedAtMs: Number(row[8]),
  };
}
