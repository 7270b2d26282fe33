// The figures of a run (the `--json` contract) and the events file that lets anyone
// re-check it (tools/verify_sim.py). Pure: returns strings, writes nothing.
import type { SimRun } from './engine.ts';
import type { Workload } from './trace.ts';

/** The JSON contract of `tidepool simulate --json` (fields may be added, never renamed). */
export interface SimFigures {
  policy: string;
  tasks: number;
  p50WaitMs: number;
  p95WaitMs: number;
  p99WaitMs: number;
  meanWaitMs: number;
  maxWaitMs: number;
  /** Fraction of tasks whose wait is at most sloMs. */
  sloAttainment: number;
  sloMs: number;
  startupMs: number;
  intervalMs: number;
  /** Time every worker exists (starting included) until the last task ends, in seconds. */
  workerSeconds: number;
  /** Sum of service times, in seconds. */
  busySeconds: number;
  /** workerSeconds / busySeconds; its physical floor is 1.0. */
  costRatio: number;
  scaleActions: number;
  /** Workers started after time 0 (cold starts). */
  starts: number;
  maxWorkers: number;
  makespanMs: number;
  /** The run's prices (--price-per-worker-hour, --price-per-start; defaults 1 and 0). */
  pricePerWorkerHour: number;
  pricePerStart: number;
  /** Money: workerSeconds / 3600 x pricePerWorkerHour + starts x pricePerStart (with the defaults, worker-hours). */
  spend: number;
  /** In --compare only: workerSeconds as a multiple of the clairvoyant floor's on the same run settings. */
  clairvoyantMultiple?: number;
}

/** Nearest rank: the value at rank ceil(p x n) of the sorted values. */
export function nearestRank(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const k = Math.min(n - 1, Math.max(0, Math.ceil(p * n - 1e-9) - 1));
  return sorted[k];
}

/** Prices when none are given: spend then reads as worker-hours. */
export const DEFAULT_PRICES = { pricePerWorkerHour: 1, pricePerStart: 0 } as const;

export function figuresOf(w: Workload, run: SimRun, opts: { sloMs: number; startupMs: number; intervalMs: number; pricePerWorkerHour?: number; pricePerStart?: number }): SimFigures {
  const pricePerWorkerHour = opts.pricePerWorkerHour ?? DEFAULT_PRICES.pricePerWorkerHour;
  const pricePerStart = opts.pricePerStart ?? DEFAULT_PRICES.pricePerStart;
  const n = w.count;
  const waits = new Float64Array(n);
  let within = 0;
  let sumWait = 0;
  let busyMs = 0;
  for (let i = 0; i < n; i++) {
    const wt = run.startMs[i] - w.arrivalMs[i];
    waits[i] = wt;
    sumWait += wt;
    if (wt <= opts.sloMs) within++;
    busyMs += w.serviceMs[i];
  }
  waits.sort();
  const workerSeconds = run.workerMs / 1000;
  const busySeconds = busyMs / 1000;
  return {
    policy: run.policy,
    tasks: n,
    p50WaitMs: nearestRank(waits, 0.5),
    p95WaitMs: nearestRank(waits, 0.95),
    p99WaitMs: nearestRank(waits, 0.99),
    meanWaitMs: n ? sumWait / n : 0,
    maxWaitMs: n ? waits[n - 1] : 0,
    sloAttainment: n ? within / n : 1,
    sloMs: opts.sloMs,
    startupMs: opts.startupMs,
    intervalMs: opts.intervalMs,
    workerSeconds,
    busySeconds,
    costRatio: busySeconds > 0 ? workerSeconds / busySeconds : 0,
    scaleActions: run.scaleActions,
    starts: run.starts,
    maxWorkers: run.maxWorkers,
    makespanMs: run.endMs,
    pricePerWorkerHour,
    pricePerStart,
    spend: (workerSeconds / 3600) * pricePerWorkerHour + run.starts * pricePerStart,
  };
}

/**
 * The events file: pool lines `{"t","workers","ready"}` at 0 and at every change,
 * then one `{"task","arrival","start","end"}` line per task in trace order.
 */
export function formatEvents(w: Workload, run: SimRun): string {
  const parts: string[] = [];
  const p = run.pool;
  for (let i = 0; i < p.tMs.length; i++) {
    parts.push(`{"t":${p.tMs[i]},"workers":${p.workers[i]},"ready":${p.ready[i]}}`);
  }
  for (let i = 0; i < w.count; i++) {
    const s = run.startMs[i];
    parts.push(`{"task":${i},"arrival":${w.arrivalMs[i]},"start":${s},"end":${s + w.serviceMs[i]}}`);
  }
  return parts.join('\n') + '\n';
}
