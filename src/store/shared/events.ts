// Store events as adapters build them: small plain snapshots, no payload or result.
import type { Task } from '../../core/index.ts';
import type { FinishedTask } from '../types.ts';

/** The snapshot a `finished` event carries, from a task that has ended. */
export function finishedOf(task: Task): FinishedTask {
  return {
    id: task.id,
    type: task.type,
    tenant: task.tenant,
    status: task.status as FinishedTask['status'],
    attempts: task.attempts,
    createdAtMs: task.createdAtMs,
    runAtMs: task.runAtMs,
    startedAtMs: task.startedAtMs,
    finishedAtMs: task.finishedAtMs ?? task.updatedAtMs,
  };
}
