// Prometheus metrics (prom-client) on a registry of the server's own, so several
// servers in one process (tests) do not collide. Gauges read the pools and the
// store when scraped; counters and histograms are fed by store and scaling events.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const HEALTH_LEVEL = { healthy: 0, degraded: 1, unhealthy: 2 } as const;
import type { PoolStats, ScalingEvent } from '../core/index.ts';
import type { FinishedTask } from '../store/index.ts';
import { WORKER_STATUSES, TASK_STATUSES } from '../core/index.ts';
import type { ServerRuntime } from './types.ts';
import { publishedDesired } from './pool-view.ts';

/** Bucket bounds in seconds for wait and run time histograms (10 ms .. 10 min). */
const TIME_BUCKETS_SEC = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly runtime: ServerRuntime;
  private readonly waitSeconds: Histogram<'pool'>;
  private readonly runSeconds: Histogram<'pool'>;
  private readonly tasksFinished: Counter<'pool' | 'outcome'>;
  private readonly scaleOps: Counter<'pool' | 'action'>;
  private readonly backpressure: Counter<'pool'>;
  private readonly rateLimited: Counter;
  private readonly backgroundErrors: Counter<'loop'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;

  constructor(runtime: ServerRuntime) {
    this.runtime = runtime;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tidepool_process_' });

    const poolOfType = (type: string) => this.poolOfType(type);
    new Gauge({
      name: 'tidepool_queue_depth',
      help: 'Runnable tasks waiting (queued or retrying with runAt passed), by task type and pool.',
      labelNames: ['type', 'pool'] as const,
      registers,
      async collect() {
        const counts = await runtime.store.counts();
        this.reset();
        for (const [type, n] of Object.entries(counts.runnableByType)) this.set({ type, pool: poolOfType(type) }, n);
      },
    });
    new Gauge({
      name: 'tidepool_tasks',
      help: 'Tasks in the store by status.',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const counts = await runtime.store.counts();
        for (const s of TASK_STATUSES) this.set({ status: s }, counts.byStatus[s] ?? 0);
      },
    });
    new Gauge({
      name: 'tidepool_workers',
      help: 'Workers by pool and status.',
      labelNames: ['pool', 'status'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of runtime.pools()) {
          const counts: Record<string, number> = Object.fromEntries(WORKER_STATUSES.map((s) => [s, 0]));
          for (const w of p.workers()) counts[w.status]++;
          for (const s of WORKER_STATUSES) this.set({ pool: p.name, status: s }, counts[s]);
        }
      },
    });
    new Gauge({
      name: 'tidepool_pool_desired_workers',
      help: 'Desired workers per pool, as GET /v1/pools/{name}/desired reports it: the autoscaler\'s target, never 0 while tasks of the pool run or wait (an external scaler such as KEDA or an HPA can follow it).',
      labelNames: ['pool'] as const,
      registers,
      async collect() {
        const counts = await runtime.store.counts();
        this.reset();
        for (const p of runtime.pools()) this.set({ pool: p.name }, (await publishedDesired(runtime, p, counts)).desired);
      },
    });
    new Gauge({
      name: 'tidepool_pool_utilization',
      help: 'busy / (idle + busy + draining) per pool, 0..1.',
      labelNames: ['pool'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of runtime.pools()) this.set({ pool: p.name }, p.stats().utilization);
      },
    });
    new Gauge({
      name: 'tidepool_pool_health',
      help: "Each pool's health verdict: 0 healthy, 1 degraded, 2 unhealthy (GET /health has the reasons).",
      labelNames: ['pool'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of runtime.pools()) this.set({ pool: p.name }, HEALTH_LEVEL[p.stats().health]);
      },
    });
    new Gauge({
      name: 'tidepool_pool_respawn_backoff_seconds',
      help: 'Delay before the next worker respawn per pool: above 0 while workers die before (or soon after) ready.',
      labelNames: ['pool'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of runtime.pools()) this.set({ pool: p.name }, (p.stats().respawnBackoffMs ?? 0) / 1000);
      },
    });
    // Worker deaths and replacements, read from each pool's own counts when scraped (the
    // pool counts them once, whatever reported them; a pool re-created by a config change
    // starts again at 0, which Prometheus reads as a counter reset).
    const poolCounter = (name: string, help: string, read: (s: PoolStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['pool'] as const,
        registers,
        collect() {
          this.reset();
          for (const p of runtime.pools()) this.inc({ pool: p.name }, read(p.stats()));
        },
      });
    poolCounter('tidepool_worker_crashes_total', 'Workers that ended on their own (a crash, an exit, a kill from outside; remote: a runner that stopped sending heartbeats), per pool.', (s) => s.crashes);
    poolCounter('tidepool_worker_respawns_total', 'Workers started to replace a crashed, failed-to-start, stalled or killed one, per pool.', (s) => s.respawns);
    poolCounter('tidepool_worker_recycles_total', 'Workers replaced after maxTasksPerWorker tasks, per pool.', (s) => s.recycles);
    poolCounter('tidepool_worker_stalls_total', 'Tasks that made no progress past stallTimeoutMs (their worker replaced, the task retried), per pool.', (s) => s.stalls);
    new Gauge({
      name: 'tidepool_pool_bounds_workers',
      help: 'Pool bounds (bound=min|max).',
      labelNames: ['pool', 'bound'] as const,
      registers,
      collect() {
        this.reset();
        for (const p of runtime.pools()) {
          const s = p.stats();
          this.set({ pool: p.name, bound: 'min' }, s.minWorkers);
          this.set({ pool: p.name, bound: 'max' }, s.maxWorkers);
        }
      },
    });
    this.waitSeconds = new Histogram({
      name: 'tidepool_task_wait_seconds',
      help: 'Queue wait of started tasks (runnable -> start of the last attempt), per pool.',
      labelNames: ['pool'] as const,
      buckets: TIME_BUCKETS_SEC,
      registers,
    });
    this.runSeconds = new Histogram({
      name: 'tidepool_task_run_seconds',
      help: 'Run time of the last attempt of ended tasks, per pool.',
      labelNames: ['pool'] as const,
      buckets: TIME_BUCKETS_SEC,
      registers,
    });
    this.tasksFinished = new Counter({
      name: 'tidepool_tasks_finished_total',
      help: 'Tasks that ended, by pool and outcome (succeeded, dead, cancelled).',
      labelNames: ['pool', 'outcome'] as const,
      registers,
    });
    this.scaleOps = new Counter({
      name: 'tidepool_scale_operations_total',
      help: 'Scaling decisions applied, by pool and action (scale_up, scale_down).',
      labelNames: ['pool', 'action'] as const,
      registers,
    });
    this.backpressure = new Counter({
      name: 'tidepool_backpressure_rejections_total',
      help: 'Submits refused because the queue was at its maximum depth (HTTP 429), per pool.',
      labelNames: ['pool'] as const,
      registers,
    });
    this.rateLimited = new Counter({
      name: 'tidepool_rate_limit_rejections_total',
      help: 'Requests refused by the global rate limit (HTTP 429).',
      registers,
    });
    this.backgroundErrors = new Counter({
      name: 'tidepool_background_errors_total',
      help: 'Errors caught in the server\'s background loops (purge, stream), by loop.',
      labelNames: ['loop'] as const,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'tidepool_http_requests_total',
      help: 'HTTP requests answered, by method, route and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
  }

  /** Gauges of requests the server holds open: ?wait requests and dashboard streams. */
  watchHeld(heldWaits: () => number, streamClients: () => number): void {
    new Gauge({
      name: 'tidepool_http_held_waits',
      help: 'Requests held open by ?wait=MS until their task ends.',
      registers: [this.registry],
      collect() {
        this.set(heldWaits());
      },
    });
    new Gauge({
      name: 'tidepool_stream_clients',
      help: 'Dashboards connected to /v1/stream.',
      registers: [this.registry],
      collect() {
        this.set(streamClients());
      },
    });
  }

  poolOfType(type: string): string {
    for (const p of this.runtime.pools()) if (p.stats().types.includes(type)) return p.name;
    return 'none';
  }

  onTaskFinished(task: FinishedTask): void {
    const pool = this.poolOfType(task.type);
    this.tasksFinished.inc({ pool, outcome: task.status });
    if (task.startedAtMs !== null) {
      const readyMs = Math.max(task.createdAtMs, task.runAtMs);
      if (task.startedAtMs >= readyMs) this.waitSeconds.observe({ pool }, (task.startedAtMs - readyMs) / 1000);
      if (task.finishedAtMs !== null && task.status !== 'cancelled') {
        this.runSeconds.observe({ pool }, Math.max(0, task.finishedAtMs - task.startedAtMs) / 1000);
      }
    }
  }

  onScalingEvent(event: ScalingEvent): void {
    if (event.action !== 'none') this.scaleOps.inc({ pool: event.pool, action: event.action });
  }

  onBackpressure(type: string): void {
    this.backpressure.inc({ pool: this.poolOfType(type) });
  }

  onRateLimited(): void {
    this.rateLimited.inc();
  }

  onBackgroundError(loop: string): void {
    this.backgroundErrors.inc({ loop });
  }

  onResponse(method: string, route: string, status: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
  }
}
