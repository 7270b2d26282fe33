// Gathers the facts of a policy Observation for one pool from its stats and the store's
// counts; buildObservation (policies/observation.ts, shared with the simulator) derives it.
// Arrivals and the runnable depth come from the store's own counters (TaskCounts
// arrivalsByType, monotonic; runnableByType), not inferred from how many tasks it holds.
import type { PoolStats, TaskCounts } from '../core/index.ts';
import { buildObservation, type Observation } from '../policies/index.ts';

/** Tasks of the pool's types ever submitted (the store's monotonic arrivals counter). */
export function arrivalsTotal(counts: TaskCounts, types: readonly string[]): number {
  return types.reduce((sum, t) => sum + (counts.arrivalsByType[t] ?? 0), 0);
}

/** Runnable tasks of the pool's types (queued or retrying, due). */
export function runnableDepth(counts: TaskCounts, types: readonly string[]): number {
  return types.reduce((sum, t) => sum + (counts.runnableByType[t] ?? 0), 0);
}

export interface ObserveInput {
  stats: PoolStats;
  counts: TaskCounts;
  /** Mean run time in the window (PoolStats has percentiles only). */
  runMeanMs: number;
  windowMs: number;
  oldestWaitMs: number;
  /** The real evaluation interval of this pool's loop (goes into the observation). */
  intervalMs?: number;
}

export function observe(input: ObserveInput): Observation {
  const { stats, counts } = input;
  const ready = stats.idle + stats.busy + stats.draining;
  return buildObservation({
    queueDepth: runnableDepth(counts, stats.types),
    workers: { starting: stats.starting, idle: stats.idle, busy: stats.busy, draining: stats.draining },
    // The pool counts a ready worker holding a task (a stalled one too) as running.
    running: Math.round(stats.utilization * ready),
    currentTarget: stats.target,
    waitMs: { p50: stats.waitMs.p50, p95: stats.waitMs.p95, p99: stats.waitMs.p99, count: stats.waitMs.count },
    runMs: { p50: stats.runMs.p50, p95: stats.runMs.p95, p99: stats.runMs.p99, mean: input.runMeanMs, count: stats.runMs.count },
    windowMs: input.windowMs,
    arrivalsTotal: arrivalsTotal(counts, stats.types),
    completionsTotal: stats.completed + stats.failed,
    failuresTotal: stats.failedAttempts,
    maxIdleMs: stats.maxIdleMs,
    oldestWaitMs: input.oldestWaitMs,
    // The facts a policy would otherwise take on trust from its knobs: the measured start-up
    // (once a worker has started) and the loop's real interval.
    ...(stats.startupMs > 0 ? { startupMs: stats.startupMs } : {}),
    ...(input.intervalMs !== undefined ? { intervalMs: input.intervalMs } : {}),
  });
}
