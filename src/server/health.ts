// GET /health: each pool's own verdict on seed 003's table (src/pools assessHealth:
// success rate and stalled workers over the pool's recent window; healthy before any
// task has ended), the worst pool wins, with one reason per pool that is not healthy.
//   healthy    success rate >= 80% and no stalled worker
//   degraded   success rate 50-80%, or 1-2 stalled workers
//   unhealthy  success rate < 50%, or > 2 stalled workers
// Only task outcomes count: requests the API refused (4xx) never make it unhealthy.
import type { Health, PoolStats } from '../core/index.ts';
import { worstHealth } from '../pools/index.ts';

export interface HealthReport {
  status: Health;
  reasons: string[];
}

export function worst(a: Health, b: Health): Health {
  return worstHealth([a, b]);
}

export function poolHealth(stats: PoolStats): HealthReport {
  const status = stats.health;
  if (status === 'healthy') return { status, reasons: [] };
  // The pool says why itself (success rate, stalls, workers dying: src/pools/health.ts).
  const reasons = stats.healthReasons.map((r) => `pool ${stats.name}: ${r} (recent window)`);
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
