// The task JSON of the contract, picked from a store's Task (which may carry more).
import type { Task } from './types.ts';

/** The documented task fields, nothing else: the task JSON `GET /v1/tasks/{id}` answers (TaskSchema's keys) and completion callbacks post. */
export function toTaskJson(t: Task) {
  return {
    id: t.id,
    type: t.type,
    status: t.status,
    payload: t.payload,
    priority: t.priority,
    attempts: t.attempts,
    maxAttempts: t.maxAttempts,
    timeoutMs: t.timeoutMs,
    tenant: t.tenant,
    region: t.region ?? null,
    idempotencyKey: t.idempotencyKey,
    result: t.result,
    error: t.error,
    runAtMs: t.runAtMs,
    createdAtMs: t.createdAtMs,
    updatedAtMs: t.updatedAtMs,
    startedAtMs: t.startedAtMs,
    finishedAtMs: t.finishedAtMs,
    workerId: t.workerId,
    leaseExpiresAtMs: t.leaseExpiresAtMs,
  };
}
