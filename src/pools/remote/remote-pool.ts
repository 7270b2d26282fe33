// A `remote` pool: its workers run on other machines and pull tasks over HTTP
// (/v1/workers, server/routes/workers.ts; `tidepool worker` is the ready runner). The pool
// does not start or stop them: it counts the runners that registered for it (a runner
// with --concurrency N is N workers, as a worker runs one task at a time), tracks which
// task each runs, and publishes the count it wants (`target`, read by whatever starts
// machines or pods through GET /v1/pools/{name}/desired).
//
// Runner states: idle/busy (per slot, by the tasks it holds) -> draining (it said it is
// stopping: DELETE /v1/workers/{id}) -> removed; any -> failed (no heartbeat for
// workerTimeoutMs) -> removed at the next sweep. A failed runner's tasks come back through
// their leases, like any worker's.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { InvalidInputError, type Clock, type PoolStats, type PoolStatus, type TimerHandle, type WorkerInfo, type WorkerStatus } from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import type { Pool, PoolFacts } from '../types.ts';
import { assessHealth } from '../health.ts';
import { PoolWindow } from '../window.ts';

export interface RemotePoolOptions {
  name: string;
  types: readonly string[];
  store: Store;
  clock: Clock;
  minWorkers: number;
  maxWorkers: number;
  leaseMs: number;
  heartbeatMs: number;
  /** A runner silent this long is failed, ms (default 3 heartbeats). */
  workerTimeoutMs?: number;
  windowMs?: number;
}

export interface RunnerInfo {
  id: string;
  name: string;
  host: string;
  tenant: string;
  types: string[];
  concurrency: number;
  status: 'active' | 'draining' | 'failed';
  registeredAtMs: number;
  lastHeartbeatMs: number;
  /** Task id -> when it was handed over. */
  tasks: Map<string, number>;
  tasksDone: number;
}

export interface RegisterInput {
  name?: string;
  host?: string;
  tenant: string;
  types?: readonly string[];
  concurrency: number;
}

export type RemotePoolEvent = 'worker.added' | 'worker.removed' | 'worker.failed';

export class RemotePool extends EventEmitter implements Pool {
  readonly kind = 'remote';
  readonly name: string;
  readonly types: readonly string[];
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly workerTimeoutMs: number;
  private min: number;
  private max: number;
  private targetCount: number;
  private readonly clock: Clock;
  private readonly store: Store;
  private readonly runners = new Map<string, RunnerInfo>();
  private readonly window: PoolWindow;
  private queueDepth = 0;
  private completedCount = 0;
  private deadCount = 0;
  private failedAttemptCount = 0;
  private failedRunnerCount = 0;
  private sweeper: TimerHandle | null = null;
  private isClosed = false;

  constructor(options: RemotePoolOptions) {
    super();
    this.name = options.name;
    this.types = [...options.types];
    this.store = options.store;
    this.clock = options.clock;
    this.min = options.minWorkers;
    this.max = options.maxWorkers;
    this.targetCount = options.minWorkers;
    this.leaseMs = options.leaseMs;
    this.heartbeatMs = options.heartbeatMs;
    this.workerTimeoutMs = options.workerTimeoutMs ?? options.heartbeatMs * 3;
    this.window = new PoolWindow(options.windowMs ?? 60_000, this.clock.now());
    this.armSweep();
  }

  get minWorkers(): number {
    return this.min;
  }
  get maxWorkers(): number {
    return this.max;
  }
  get target(): number {
    return this.targetCount;
  }

  /** Remote workers start themselves: the count is what the pool asks for (the desired count). */
  scaleTo(n: number): void {
    if (!Number.isInteger(n) || n < this.min || n > this.max) throw new InvalidInputError(`pool ${this.name}: scaleTo(${n}) is outside its bounds ${this.min}..${this.max}`);
    this.targetCount = n;
  }

  setBounds(minWorkers: number, maxWorkers: number): void {
    this.min = minWorkers;
    this.max = maxWorkers;
    this.targetCount = Math.min(maxWorkers, Math.max(minWorkers, this.targetCount));
  }

  register(input: RegisterInput): RunnerInfo {
    if (this.isClosed) throw new InvalidInputError(`pool ${this.name} is closed`);
    const types = input.types?.length ? [...new Set(input.types)] : [...this.types];
    const unknown = types.filter((t) => !this.types.includes(t));
    if (unknown.length) throw new InvalidInputError(`body.types: ${unknown.map((t) => JSON.stringify(t)).join(', ')} not served by pool ${this.name}; it serves ${this.types.join(', ')}`);
    const nowMs = this.clock.now();
    const runner: RunnerInfo = {
      id: `${this.name}.r-${randomBytes(6).toString('hex')}`,
      name: input.name ?? 'worker',
      host: input.host ?? '',
      tenant: input.tenant,
      types,
      concurrency: input.concurrency,
      status: 'active',
      registeredAtMs: nowMs,
      lastHeartbeatMs: nowMs,
      tasks: new Map(),
      tasksDone: 0,
    };
    this.runners.set(runner.id, runner);
    this.emit('worker.added', { pool: this.name, workerId: runner.id, name: runner.name, types: runner.types, concurrency: runner.concurrency, host: runner.host });
    return runner;
  }

  runner(id: string): RunnerInfo | null {
    const r = this.runners.get(id);
    return r && r.status !== 'failed' ? r : null;
  }

  runnerList(): RunnerInfo[] {
    return [...this.runners.values()];
  }

  /** Any call from the runner counts as its heartbeat. */
  touch(runner: RunnerInfo): void {
    runner.lastHeartbeatMs = this.clock.now();
  }

  /** Slots the runner has free for new tasks. */
  freeSlots(runner: RunnerInfo): number {
    return runner.status === 'active' ? Math.max(0, runner.concurrency - runner.tasks.size) : 0;
  }

  taskStarted(runner: RunnerInfo, taskId: string, waitMs: number): void {
    const nowMs = this.clock.now();
    runner.tasks.set(taskId, nowMs);
    this.window.recordStart(nowMs, waitMs);
  }

  /** The runner reported the task's end (complete or fail), or its lease was lost. */
  taskEnded(runner: RunnerInfo | null, taskId: string, outcome: 'succeeded' | 'failed' | 'dead' | 'lost'): void {
    const nowMs = this.clock.now();
    const startedAtMs = runner?.tasks.get(taskId);
    if (runner) {
      runner.tasks.delete(taskId);
      runner.tasksDone++;
    }
    if (outcome === 'lost') return;
    if (startedAtMs !== undefined) this.window.recordEnd(nowMs, nowMs - startedAtMs, outcome === 'succeeded');
    if (outcome === 'succeeded') this.completedCount++;
    else {
      this.failedAttemptCount++;
      if (outcome === 'dead') this.deadCount++;
    }
    if (runner?.status === 'draining' && runner.tasks.size === 0) this.remove(runner, 'drained');
  }

  /** The runner is stopping: it takes nothing more and leaves once its tasks end. */
  deregister(runner: RunnerInfo): void {
    runner.status = 'draining';
    if (runner.tasks.size === 0) this.remove(runner, 'deregistered');
  }

  workers(): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const r of this.runners.values()) {
      const taskIds = [...r.tasks.keys()];
      for (let i = 0; i < r.concurrency; i++) {
        const taskId = taskIds[i] ?? null;
        const status: WorkerStatus = r.status === 'failed' ? 'failed' : r.status === 'draining' ? 'draining' : taskId ? 'busy' : 'idle';
        out.push({ id: r.concurrency === 1 ? r.id : `${r.id}/${i}`, status, startedAtMs: r.registeredAtMs, lastHeartbeatMs: r.lastHeartbeatMs, idleSinceMs: taskId ? null : r.lastHeartbeatMs, taskId, tasksDone: i === 0 ? r.tasksDone : 0 });
      }
    }
    return out;
  }

  stats(): PoolStats {
    const nowMs = this.clock.now();
    const c = { idle: 0, busy: 0, draining: 0, failed: 0 };
    for (const w of this.workers()) if (w.status !== 'starting') c[w.status]++;
    const ready = c.idle + c.busy + c.draining;
    const f = this.window.figures(nowMs);
    const { health, reasons } = assessHealth({ successRate: f.successRate, endedAttempts: f.ended, stalledWorkers: f.recentStalls });
    const total = c.idle + c.busy + c.draining;
    const status: PoolStatus = this.targetCount > total ? 'scaling_up' : c.draining > 0 || this.targetCount < total ? 'scaling_down' : 'active';
    return {
      name: this.name,
      types: [...this.types],
      status,
      total,
      starting: 0,
      idle: c.idle,
      busy: c.busy,
      draining: c.draining,
      failedWorkers: c.failed,
      target: this.targetCount,
      minWorkers: this.min,
      maxWorkers: this.max,
      utilization: ready === 0 ? 0 : c.busy / ready,
      queueDepth: this.queueDepth,
      completed: this.completedCount,
      failed: this.deadCount,
      failedAttempts: this.failedAttemptCount,
      stalls: 0,
      waitMs: f.waitMs,
      runMs: { p50: f.runMs.p50, p95: f.runMs.p95, p99: f.runMs.p99, count: f.runMs.count },
      throughputPerMin: f.throughputPerMin,
      successRate: f.successRate,
      health,
      maxIdleMs: 0,
      kind: this.kind,
      // Remote machines start outside Tidepool: no start-up is measured here.
      startupMs: 0,
      crashes: this.failedRunnerCount,
      startFailures: 0,
      respawns: 0,
      recycles: 0,
      respawnBackoffMs: 0,
      healthReasons: reasons,
    };
  }

  facts(): PoolFacts {
    const f = this.window.figures(this.clock.now());
    return { runMeanMs: f.runMs.mean, windowMs: this.window.windowMs, startupMs: 0, startupSamples: 0 };
  }

  windowFigures() {
    return this.window.figures(this.clock.now());
  }

  async refresh(): Promise<number> {
    const counts = await this.store.counts();
    this.queueDepth = this.types.reduce((sum, t) => sum + (counts.runnableByType[t] ?? 0), 0);
    return this.queueDepth;
  }

  noteQueueDepth(depth: number): void {
    this.queueDepth = depth;
  }

  /** The runners are not ours to stop: closing forgets them (their tasks' leases still hold). */
  async close(): Promise<void> {
    this.isClosed = true;
    this.sweeper?.cancel();
    this.sweeper = null;
  }

  /** Runners silent past workerTimeoutMs are failed, then removed at the next sweep. */
  sweep(): void {
    const nowMs = this.clock.now();
    for (const r of [...this.runners.values()]) {
      if (r.status === 'failed') this.remove(r, 'failed');
      else if (nowMs - r.lastHeartbeatMs >= this.workerTimeoutMs) {
        r.status = 'failed';
        this.failedRunnerCount++;
        this.emit('worker.failed', { pool: this.name, workerId: r.id, reason: `no heartbeat for ${nowMs - r.lastHeartbeatMs} ms >= ${this.workerTimeoutMs} ms`, tasks: [...r.tasks.keys()] });
      }
    }
  }

  private remove(runner: RunnerInfo, reason: string): void {
    if (this.runners.delete(runner.id)) this.emit('worker.removed', { pool: this.name, workerId: runner.id, reason });
  }

  private armSweep(): void {
    this.sweeper = this.clock.setTimer(() => {
      if (this.isClosed) return;
      this.sweep();
      this.armSweep();
    }, Math.max(100, Math.floor(this.workerTimeoutMs / 2)));
  }
}
