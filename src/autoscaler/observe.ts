// Gathers the facts of a policy Observation for one pool from its stats and the store's
// counts; buildObservation (policies/observation.ts, shared with the simulator) derives it.
// Arrivals are not counted by the store, so they are derived from the number of tasks
// of the pool's types the store holds, kept monotonic across purges.
import type { PoolStats, TaskCounts } from '../core/index.ts';
import { buildObservation, type Observation } from '../policies/index.ts';

export interface ArrivalTracker {
  /** Highest task count seen, plus tasks purged since (so the total never goes down). */
  lastSeen: number;
  offset: number;
}

export function newArrivalTracker(): ArrivalTracker {
  return { lastSeen: 0, offset: 0 };
}

/** Tasks of the given types the store holds right now, any status. */
function tasksHeld(counts: TaskCounts, types: readonly string[]): number {
  let n = 0;
  for (const t of types) {
    const byStatus = counts.byType[t];
    if (!byStatus) continue;
    for (const k in byStatus) n += byStatus[k as keyof typeof byStatus];
  }
  return n;
}

export function runnableDepth(counts: TaskCounts, types: readonly string[]): number {
  return types.reduce((sum, t) => sum + (counts.runnableByType[t] ?? 0), 0);
}

export interface ObserveInput {
  stats: PoolStats;
  counts: TaskCounts;
  /** Mean run time in the window (PoolStats has percentiles only). */
  runMeanMs: number;
  windowMs: number;
  arrivals: ArrivalTracker;
  oldestWaitMs: number;
}

export function observe(input: ObserveInput): Observation {
  const { stats, counts, arrivals } = input;
  const held = tasksHeld(counts, stats.types);
  // A purge makes the count drop: carry what vanished in the offset.
  if (held < arrivals.lastSeen) arrivals.offset += arrivals.lastSeen - held;
  arrivals.lastSeen = held;
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
    arrivalsTotal: held + arrivals.offset,
    completionsTotal: stats.completed + stats.failed,
    failuresTotal: stats.failedAttempts,
    maxIdleMs: stats.maxIdleMs,
    oldestWaitMs: input.oldestWaitMs,
  });
}
