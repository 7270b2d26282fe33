// GET /health: each pool's own verdict on seed 003's table (src/pools assessHealth:
// success rate and stalled workers over the pool's recent window; healthy before any
// task has ended), the worst pool wins, with one reason per pool that is not healthy.
//   healthy    success rate >= 80% and no stalled worker
//   degraded   success rate 50-80%, or 1-2 stalled workers
//   unhealthy  success rate < 50%, or > 2 stalled workers
// Only task outcomes count: requests the API refused (4xx) never make it unhealthy.
import type { Health, PoolStats } from '../core/index.ts';
import { assessHealth, worstHealth } from '../pools/index.ts';

export interface HealthReport {
  status: Health;
  reasons: string[];
}

const RANK: Record<Health, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export function worst(a: Health, b: Health): Health {
  return worstHealth([a, b]);
}

export function poolHealth(stats: PoolStats): HealthReport {
  const status = stats.health;
  if (status === 'healthy') return { status, reasons: [] };
  const byRate = assessHealth({ successRate: stats.successRate, stalledWorkers: 0 });
  const reasons = byRate.reasons.map((r) => `pool ${stats.name}: ${r} (recent window)`);
  // A verdict worse than the success rate alone comes from stalled workers.
  if (RANK[status] > RANK[byRate.health]) reasons.push(`pool ${stats.name}: stalled workers in the recent window (${stats.stalls} stalls since start)`);
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
