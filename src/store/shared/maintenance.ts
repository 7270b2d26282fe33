// Maintenance, off the claim's hot path: reclaiming expired leases, purging ended tasks, and
// the retention of scaling events and metric samples (which would otherwise grow without
// bound). Each adapter's maintain() runs `runMaintenance` over its own steps; one caller
// runs it periodically (MaintenanceLoop: createTidepool; in a cluster, only the leader).
import { InvalidInputError } from '../../core/index.ts';
import type { Clock, TimerHandle } from '../../core/index.ts';
import type { MaintenancePolicy, MaintenanceReport, Store } from '../types.ts';

const DAY_MS = 86_400_000;
/** Ended tasks are deleted this long after they end (as server.retentionMs), ms; 0 = keep. */
export const DEFAULT_FINISHED_RETENTION_MS = 7 * DAY_MS;
/** Scaling events are kept this long, ms; 0 = keep forever. */
export const DEFAULT_SCALING_EVENT_RETENTION_MS = 30 * DAY_MS;
/** Metric samples are kept this long, ms; 0 = keep forever. */
export const DEFAULT_METRIC_SAMPLE_RETENTION_MS = 7 * DAY_MS;
/** How often MaintenanceLoop runs maintain(), ms (a dead worker's task waits at most its lease plus this). */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 1_000;

export type ResolvedMaintenancePolicy = Required<MaintenancePolicy>;

export function resolveMaintenancePolicy(policy: MaintenancePolicy = {}): ResolvedMaintenancePolicy {
  const check = (name: keyof MaintenancePolicy, fallback: number): number => {
    const v = policy[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new InvalidInputError(`maintenance.${name}: got ${String(v)}; expected an integer >= 0 (ms; 0 = keep forever)`);
    }
    return v;
  };
  return {
    finishedRetentionMs: check('finishedRetentionMs', DEFAULT_FINISHED_RETENTION_MS),
    scalingEventRetentionMs: check('scalingEventRetentionMs', DEFAULT_SCALING_EVENT_RETENTION_MS),
    metricSampleRetentionMs: check('metricSampleRetentionMs', DEFAULT_METRIC_SAMPLE_RETENTION_MS),
  };
}

/** The steps an adapter provides; each is its own transaction. */
export interface MaintenanceSteps {
  now(): Promise<number>;
  reclaimExpired(): Promise<number>;
  purgeFinished(beforeMs: number): Promise<number>;
  purgeScalingEvents(beforeMs: number): Promise<number>;
  purgeMetricSamples(beforeMs: number): Promise<number>;
  /** Deletes coordination state entries lapsed by nowMs. */
  purgeExpiredState(nowMs: number): Promise<number>;
}

export async function runMaintenance(steps: MaintenanceSteps, policy?: MaintenancePolicy): Promise<MaintenanceReport> {
  const p = resolveMaintenancePolicy(policy);
  const atMs = await steps.now();
  const reclaimed = await steps.reclaimExpired();
  const purgedTasks = p.finishedRetentionMs > 0 ? await steps.purgeFinished(atMs - p.finishedRetentionMs) : 0;
  const purgedScalingEvents = p.scalingEventRetentionMs > 0 ? await steps.purgeScalingEvents(atMs - p.scalingEventRetentionMs) : 0;
  const purgedMetricSamples = p.metricSampleRetentionMs > 0 ? await steps.purgeMetricSamples(atMs - p.metricSampleRetentionMs) : 0;
  const purgedState = await steps.purgeExpiredState(atMs);
  return { reclaimed, purgedTasks, purgedScalingEvents, purgedMetricSamples, purgedState, atMs };
}

export interface MaintenanceLoopOptions {
  store: Store;
  clock: Clock;
  intervalMs?: number;
  policy?: MaintenancePolicy;
  /** A failed run (the loop goes on); never swallowed. */
  onError: (err: Error) => void;
  onRun?: (report: MaintenanceReport) => void;
  /** Whether this process runs maintenance now (in a cluster: only the leader); default always. */
  shouldRun?: () => boolean;
}

/** Runs store.maintain() every intervalMs on the injected clock, one run at a time. */
export class MaintenanceLoop {
  private readonly options: MaintenanceLoopOptions;
  private readonly intervalMs: number;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private isStopped = true;

  constructor(options: MaintenanceLoopOptions) {
    resolveMaintenancePolicy(options.policy);
    this.options = options;
    this.intervalMs = options.intervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
    if (!Number.isSafeInteger(this.intervalMs) || this.intervalMs < 1) {
      throw new InvalidInputError(`maintenance.intervalMs: got ${String(options.intervalMs)}; expected an integer >= 1 (ms)`);
    }
  }

  start(): void {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.arm();
  }

  /** Runs maintenance once now (also what each tick does). */
  runOnce(): Promise<void> {
    if (this.options.shouldRun && !this.options.shouldRun()) return Promise.resolve();
    this.running ??= this.options.store
      .maintain(this.options.policy)
      .then(
        (report) => this.options.onRun?.(report),
        (err: unknown) => this.options.onError(err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running;
  }

  private arm(): void {
    if (this.isStopped) return;
    this.timer = this.options.clock.setTimer(() => {
      this.timer = null;
      void this.runOnce().then(() => this.arm());
    }, this.intervalMs);
  }
}
