// Building an Observation with defaults, so a caller (or a test table) names only the
// fields that matter: `makeObservation({ queueDepth: 40, currentTarget: 10 })`.
// Worker counts left out are derived: `currentTarget` ready workers, `busy` from
// `utilization` when given, the rest idle.

import type { Observation } from './types.ts';

export interface ObservationInput extends Partial<Omit<Observation, 'workers' | 'waitMs' | 'runMs'>> {
  workers?: Partial<Observation['workers']>;
  waitMs?: Partial<Observation['waitMs']>;
  runMs?: Partial<Observation['runMs']>;
}

export function makeObservation(input: ObservationInput = {}): Observation {
  const w = input.workers ?? {};
  const starting = w.starting ?? 0;
  const draining = w.draining ?? 0;
  const target = input.currentTarget ?? (w.total !== undefined ? w.total - draining : (w.idle ?? 0) + (w.busy ?? 0) + starting);
  const ready = Math.max(0, (w.total !== undefined ? w.total - draining : target) - starting);
  const busy = w.busy ?? (input.utilization !== undefined ? input.utilization * (ready + draining) : 0);
  const idle = w.idle ?? Math.max(0, ready - busy);
  const total = w.total ?? starting + idle + busy + draining;
  const readyAll = idle + busy + draining;
  return {
    queueDepth: input.queueDepth ?? 0,
    workers: { total, starting, idle, busy, draining },
    currentTarget: target,
    utilization: input.utilization ?? (readyAll > 0 ? busy / readyAll : 0),
    waitMs: { p50: 0, p95: 0, p99: 0, count: 0, ...input.waitMs },
    runMs: { p50: 0, p95: 0, p99: 0, mean: 0, count: 0, ...input.runMs },
    windowMs: input.windowMs ?? 60_000,
    arrivalsTotal: input.arrivalsTotal ?? 0,
    completionsTotal: input.completionsTotal ?? 0,
    failuresTotal: input.failuresTotal ?? 0,
    maxIdleMs: input.maxIdleMs ?? 0,
    oldestWaitMs: input.oldestWaitMs ?? 0,
  };
}

/** The facts an observation is built from; the live autoscaler and the simulator gather them, buildObservation derives the rest. */
export interface ObservationFacts extends Omit<Observation, 'workers' | 'utilization'> {
  workers: Omit<Observation['workers'], 'total'>;
  /** Ready workers holding a task (default busy + draining); the pool counts a stalled one too. */
  running?: number;
}

/**
 * The one place an Observation is derived from facts, used by the live autoscaler
 * (src/autoscaler/observe.ts) and the simulator (src/sim/engine.ts): the total counts
 * every status, utilization is running / ready (0 with none ready).
 */
export function buildObservation(facts: ObservationFacts): Observation {
  const { running: runningIn, workers: w, ...rest } = facts;
  const ready = w.idle + w.busy + w.draining;
  const running = runningIn ?? w.busy + w.draining;
  return {
    ...rest,
    workers: { total: w.starting + ready, starting: w.starting, idle: w.idle, busy: w.busy, draining: w.draining },
    utilization: ready > 0 ? Math.min(1, running / ready) : 0,
  };
}
