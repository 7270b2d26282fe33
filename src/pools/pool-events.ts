// Turns a pool's worker events into event-log entries (code + sentence), so crashes,
// respawns, stalls and recycles, and remote workers registering, failing and leaving, show
// beside the scaling decisions (GET /v1/events, the dashboard's pool events) and in the
// server log. Every code starts with `worker_` (the dashboard tells them from scaling
// decisions by it). Recycles can come once per task (maxTasksPerWorker 1), so they are
// summed and logged at most once per RECYCLE_LOG_EVERY_MS.
import type { Clock } from '../core/index.ts';
import type { WorkerPool } from './pool.ts';
import type { RemotePool } from './remote/remote-pool.ts';

export const RECYCLE_LOG_EVERY_MS = 10_000;

export interface PoolEventNote {
  pool: string;
  /**
   * Stable code: worker_crashed, worker_start_failed, worker_respawn, worker_stalled,
   * worker_recycled; remote pools: worker_registered, worker_failed, worker_deregistered.
   */
  code: string;
  reason: string;
}

/** Calls `note` for each worker event of `pool`; returns a function that stops listening. */
export function watchPoolEvents(pool: WorkerPool | RemotePool, clock: Clock, note: (n: PoolEventNote) => void): () => void {
  return pool.kind === 'remote' ? watchRemote(pool as RemotePool, note) : watchWorkers(pool as WorkerPool, clock, note);
}

function watchWorkers(pool: WorkerPool, clock: Clock, note: (n: PoolEventNote) => void): () => void {
  let recycled = 0;
  let lastRecycleLogMs = -Infinity;
  const on = (event: string, fn: (e: any) => void) => {
    pool.on(event, fn);
    return () => pool.off(event, fn);
  };
  const offs = [
    on('worker.crashed', (e: { workerId: string; reason: string; taskId: string | null; respawnInMs: number }) =>
      note({ pool: pool.name, code: 'worker_crashed', reason: `worker ${e.workerId} ended on its own${e.taskId ? ` while running task ${e.taskId} (retried)` : ''}: ${e.reason}; respawn in ${e.respawnInMs} ms` }),
    ),
    on('worker.start_failed', (e: { workerId: string; reason: string; respawnInMs: number }) =>
      note({ pool: pool.name, code: 'worker_start_failed', reason: `worker ${e.workerId} could not start: ${e.reason}; next try in ${e.respawnInMs} ms` }),
    ),
    on('worker.respawn', (e: { workerId: string; delayMs: number }) =>
      note({ pool: pool.name, code: 'worker_respawn', reason: `worker ${e.workerId} replaces it${e.delayMs > 0 ? ` after a backoff of ${e.delayMs} ms` : ''}` }),
    ),
    on('stall', (e: { workerId: string; taskId: string; quietMs: number }) =>
      note({ pool: pool.name, code: 'worker_stalled', reason: `worker ${e.workerId} stalled on task ${e.taskId} (no progress for ${e.quietMs} ms): ${pool.kind === 'inline' ? 'replaced' : 'killed and replaced'}, the task retried` }),
    ),
    on('worker.recycled', (e: { workerId: string; tasksDone: number }) => {
      recycled++;
      const nowMs = clock.now();
      if (nowMs - lastRecycleLogMs < RECYCLE_LOG_EVERY_MS) return;
      note({ pool: pool.name, code: 'worker_recycled', reason: recycled === 1 ? `worker ${e.workerId} recycled after ${e.tasksDone} tasks (maxTasksPerWorker)` : `${recycled} workers recycled after ${e.tasksDone} tasks each (maxTasksPerWorker) since the last note` });
      recycled = 0;
      lastRecycleLogMs = nowMs;
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** A remote pool's runners: registered, failed (no heartbeat), deregistered (left once drained). */
function watchRemote(pool: RemotePool, note: (n: PoolEventNote) => void): () => void {
  const on = (event: string, fn: (e: any) => void) => {
    pool.on(event, fn);
    return () => pool.off(event, fn);
  };
  const offs = [
    on('worker.added', (e: { workerId: string; name: string; host: string; types: string[]; concurrency: number }) =>
      note({ pool: pool.name, code: 'worker_registered', reason: `remote worker ${e.workerId} (${e.name}${e.host ? ` on ${e.host}` : ''}) registered for ${e.types.join(', ')} with ${e.concurrency} slot${e.concurrency === 1 ? '' : 's'}` }),
    ),
    on('worker.failed', (e: { workerId: string; reason: string; tasks: string[] }) =>
      note({ pool: pool.name, code: 'worker_failed', reason: `remote worker ${e.workerId} failed: ${e.reason}${e.tasks.length ? `; its task${e.tasks.length === 1 ? '' : 's'} ${e.tasks.join(', ')} come${e.tasks.length === 1 ? 's' : ''} back when ${e.tasks.length === 1 ? 'its lease expires' : 'their leases expire'}` : ''}` }),
    ),
    on('worker.removed', (e: { workerId: string; reason: string }) => {
      // A failed runner was noted when it failed; its removal at the next sweep is no news.
      if (e.reason === 'failed') return;
      note({ pool: pool.name, code: 'worker_deregistered', reason: `remote worker ${e.workerId} left (${e.reason === 'drained' ? 'deregistered, after its last task ended' : 'deregistered'})` });
    }),
  ];
  return () => offs.forEach((off) => off());
}
