// The fields every view of a pool shares (GET /v1/pools and the dashboard's live feed),
// derived from its stats in one place so the two never disagree.
import type { Health, PoolStatus } from '../core/index.ts';
import type { PoolControl } from './types.ts';

export interface PoolSummary {
  name: string;
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
}

export function summarizePool(p: PoolControl): PoolSummary {
  const s = p.stats();
  const policy = p.policy();
  return {
    name: s.name,
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
  };
}
