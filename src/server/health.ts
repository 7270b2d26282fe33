// GET /health: seed 003's table, applied per pool, the worst pool wins.
//   healthy    success rate >= 80% and no stalled worker
//   degraded   success rate 50-80%, or 1-2 stalls
//   unhealthy  success rate < 50%, or > 2 stalls, or the store does not answer
// Before any task has ended the success rate is unknown and counts as healthy.
// Only task outcomes count: requests the API refused (4xx) never make it unhealthy.
import type { Health, PoolStats } from '../core/index.ts';

/** Success rate at or above which a pool is healthy (seed 003). */
export const HEALTHY_SUCCESS_RATE = 0.8;
/** Success rate below which a pool is unhealthy (seed 003). */
export const UNHEALTHY_SUCCESS_RATE = 0.5;
/** Stalls above which a pool is unhealthy (seed 003: > 2). */
export const UNHEALTHY_STALLS = 2;

export interface HealthReport {
  status: Health;
  reasons: string[];
}

const RANK: Record<Health, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export function worst(a: Health, b: Health): Health {
  return RANK[a] >= RANK[b] ? a : b;
}

export function poolHealth(stats: PoolStats): HealthReport {
  const reasons: string[] = [];
  let status: Health = 'healthy';
  const ended = stats.completed + stats.failed;
  if (ended > 0) {
    const pct = (stats.successRate * 100).toFixed(1);
    if (stats.successRate < UNHEALTHY_SUCCESS_RATE) {
      status = 'unhealthy';
      reasons.push(`pool ${stats.name}: success rate ${pct}% < ${UNHEALTHY_SUCCESS_RATE * 100}% (${stats.completed} succeeded, ${stats.failed} dead)`);
    } else if (stats.successRate < HEALTHY_SUCCESS_RATE) {
      status = 'degraded';
      reasons.push(`pool ${stats.name}: success rate ${pct}% < ${HEALTHY_SUCCESS_RATE * 100}% (${stats.completed} succeeded, ${stats.failed} dead)`);
    }
  }
  if (stats.stalls > UNHEALTHY_STALLS) {
    status = 'unhealthy';
    reasons.push(`pool ${stats.name}: ${stats.stalls} stalled workers > ${UNHEALTHY_STALLS}`);
  } else if (stats.stalls > 0) {
    status = worst(status, 'degraded');
    reasons.push(`pool ${stats.name}: ${stats.stalls} stalled worker${stats.stalls === 1 ? '' : 's'}`);
  }
  return { status, reasons };
}

export function combineHealth(pools: readonly PoolStats[]): HealthReport {
  let status: Health = 'healthy';
  const reasons: string[] = [];
  for (const p of pools) {
    const h = poolHealth(p);
    status = worst(status, h.status);
    reasons.push(...h.reasons);
  }
  return { status, reasons };
}
