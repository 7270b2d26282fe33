// Pool health, following seed 003's table:
//
// | status    | success rate | stalled workers |
// | healthy   | >= 80%       | 0               |
// | degraded  | 50-80%       | 1-2             |
// | unhealthy | < 50%        | > 2             |
//
// The worse of the two columns wins. Before any attempt has ended the success rate is
// taken as 100%, so a fresh pool is healthy.
import type { Health } from '../../core/index.ts';

export interface HealthInput {
  /** Successful attempts / ended attempts in the window (1 when none ended). */
  successRate: number;
  /** Workers that stalled within the window. */
  stalledWorkers: number;
}

export interface HealthReport {
  health: Health;
  /** One sentence per column that is not healthy, with its numbers. */
  reasons: string[];
}

const RANK: Record<Health, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export const HEALTH_THRESHOLDS = {
  /** Success rate at or above which the rate column is healthy. */
  healthySuccessRate: 0.8,
  /** Success rate below which the rate column is unhealthy. */
  unhealthySuccessRate: 0.5,
  /** Stalled workers above which the stall column is unhealthy (1..this is degraded). */
  maxDegradedStalls: 2,
} as const;

export function assessHealth(input: HealthInput): HealthReport {
  const t = HEALTH_THRESHOLDS;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  let byRate: Health = 'healthy';
  const reasons: string[] = [];
  if (input.successRate < t.unhealthySuccessRate) {
    byRate = 'unhealthy';
    reasons.push(`success rate ${pct(input.successRate)} < ${pct(t.unhealthySuccessRate)}`);
  } else if (input.successRate < t.healthySuccessRate) {
    byRate = 'degraded';
    reasons.push(`success rate ${pct(input.successRate)} < ${pct(t.healthySuccessRate)}`);
  }
  let byStalls: Health = 'healthy';
  if (input.stalledWorkers > t.maxDegradedStalls) {
    byStalls = 'unhealthy';
    reasons.push(`${input.stalledWorkers} stalled workers > ${t.maxDegradedStalls}`);
  } else if (input.stalledWorkers > 0) {
    byStalls = 'degraded';
    reasons.push(`${input.stalledWorkers} stalled worker${input.stalledWorkers === 1 ? '' : 's'}`);
  }
  const health = RANK[byRate] >= RANK[byStalls] ? byRate : byStalls;
  return { health, reasons };
}

/** The worst of several healths (a server with several pools). */
export function worstHealth(healths: readonly Health[]): Health {
  return healths.reduce<Health>((worst, h) => (RANK[h] > RANK[worst] ? h : worst), 'healthy');
}
