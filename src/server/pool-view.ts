// The fields every view of a pool shares (GET /v1/pools and the dashboard's live feed),
// derived from its stats in one place so the two never disagree.
import type { Health, PoolStatus } from '../core/index.ts';
import type { PoolControl } from './types.ts';

export interface PoolSummary {
  name: string;
  /** Worker kind (inline, thread, command, process, remote). */
  kind: string;
  /** Measured worker start-up, p95 over the window, ms. */
  startupMs: number;
  status: PoolStatus;
  /** Workers that exist: starting + idle + busy + draining. */
  current: number;
  target: number;
  min: number;
  max: number;
  policy: string;
  preset: string | null;
  queueDepth: number;
  busy: number;
  idle: number;
  starting: number;
  draining: number;
  completed: number;
  failed: number;
  throughputPerMin: number;
  health: Health;
  crashes: number;
  startFailures: number;
  respawns: number;
  recycles: number;
  stalls: number;
  respawnBackoffMs: number;
  /** Worker-time since the pool opened, s; starts; spend = worker-hours x pricePerWorkerHour + starts x pricePerStart (null for a pool that does not count them). */
  workerSeconds: number | null;
  starts: number | null;
  spend: number | null;
}

export function summarizePool(p: PoolControl): PoolSummary {
  const s = p.stats();
  const policy = p.policy();
  return {
    name: s.name,
    kind: s.kind,
    startupMs: s.startupMs,
    status: s.status,
    current: s.starting + s.idle + s.busy + s.draining,
    target: s.target,
    min: s.minWorkers,
    max: s.maxWorkers,
    policy: policy.name,
    preset: policy.preset,
    queueDepth: s.queueDepth,
    busy: s.busy,
    idle: s.idle,
    starting: s.starting,
    draining: s.draining,
    completed: s.completed,
    failed: s.failed,
    throughputPerMin: s.throughputPerMin,
    health: s.health,
    crashes: s.crashes,
    startFailures: s.startFailures,
    respawns: s.respawns,
    recycles: s.recycles,
    stalls: s.stalls,
    respawnBackoffMs: s.respawnBackoffMs,
    workerSeconds: s.workerSeconds ?? null,
    starts: s.starts ?? null,
    spend: s.spend ?? null,
  };
}
