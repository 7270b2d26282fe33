// Pool health, following seed 003's table:
//
// | status    | success rate | stalled workers |
// | healthy   | >= 80%       | 0               |
// | degraded  | 50-80%       | 1-2             |
// | unhealthy | < 50%        | > 2             |
//
// The worse of the two columns wins. Before any attempt has ended the success rate is
// taken as 100%, so a fresh pool is healthy; while fewer than minAttemptsForRate attempts
// ended in the window the rate column says nothing (one failure of the first two attempts
// is not a 50% failure rate).
//
// Worker deaths (issue 9): a worker that crashed in the window and was respawned makes the
// pool degraded at worst; workers that died before they were ready, or within
// earlyExitMs of it, `unhealthyEarlyExits` times in a row (no completed task between
// them) make it unhealthy, with the reason shown. A ready worker killed from outside
// (pool.ts) is a crash, not an early exit, unless that kill repeats on its replacement.
import type { Health } from '../core/index.ts';

export interface HealthInput {
  /** Successful attempts / ended attempts in the window (1 when none ended). */
  successRate: number;
  /** Attempts that ended in the window (the rate's sample); unset: enough. */
  endedAttempts?: number;
  /** Workers that stalled within the window. */
  stalledWorkers: number;
  /** Workers that crashed within the window (respawned). */
  recentCrashes?: number;
  /** Workers in a row that died before or soon after ready, with no completed task since. */
  earlyExitsInARow?: number;
  /** The last early exit's reason, for the sentence. */
  lastExitReason?: string;
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
  /** Workers in a row dying before or soon after ready at which the pool is unhealthy. */
  unhealthyEarlyExits: 3,
  /** Ended attempts in the window below which the success-rate column is not judged. */
  minAttemptsForRate: 10,
} as const;

export function assessHealth(input: HealthInput): HealthReport {
  const t = HEALTH_THRESHOLDS;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  let byRate: Health = 'healthy';
  const reasons: string[] = [];
  const isRateKnown = (input.endedAttempts ?? Infinity) >= t.minAttemptsForRate;
  if (!isRateKnown) {
    // Too few attempts for a rate.
  } else if (input.successRate < t.unhealthySuccessRate) {
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
  let byDeaths: Health = 'healthy';
  const early = input.earlyExitsInARow ?? 0;
  const last = input.lastExitReason ? ` (last: ${input.lastExitReason})` : '';
  if (early >= t.unhealthyEarlyExits) {
    byDeaths = 'unhealthy';
    reasons.push(`${early} workers in a row died before or soon after they were ready${last}`);
  } else if ((input.recentCrashes ?? 0) > 0 || early > 0) {
    byDeaths = 'degraded';
    const n = input.recentCrashes ?? 0;
    reasons.push(n > 0 ? `${n} worker crash${n === 1 ? '' : 'es'} in the recent window (respawned)${last}` : `${early} worker${early === 1 ? '' : 's'} died before or soon after ready${last}`);
  }
  const health = [byRate, byStalls, byDeaths].reduce<Health>((w, h) => (RANK[h] > RANK[w] ? h : w), 'healthy');
  return { health, reasons };
}

/** The worst of several healths (a server with several pools). */
export function worstHealth(healths: readonly Health[]): Health {
  return healths.reduce<Health>((worst, h) => (RANK[h] > RANK[worst] ? h : worst), 'healthy');
}
