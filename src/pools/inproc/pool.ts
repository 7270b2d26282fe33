// The in-process pool: workers are async loops in this process, each running one task
// at a time with the handler registered for its type.
//
// Worker states and transitions (names are a contract, see core/types.ts):
//   starting -> idle     (startupMs passed; 0 by default, so at once)
//   idle     -> busy     (handed a task by the dispatcher)
//   idle     -> removed  (scaleTo down takes idle workers first; close)
//   busy     -> idle     (task ended and no next task was claimed)
//   busy     -> busy     (task ended and the completion claimed the next one)
//   busy     -> draining (scaleTo down with no idle worker left; close)
//   draining -> busy     (scaleTo up again before its task ended: kept on instead of a new worker)
//   draining -> removed  (its task ended; it claims nothing more)
//   busy     -> failed   (stalled: no progress for stallTimeoutMs) -> removed, replaced
//   any      -> removed  after maxTasksPerWorker tasks (recycled: a fresh worker replaces it)
//
// One attempt's handler, heartbeats, timeout and stall watch live in attempt.ts.
//
// Throughput: idle workers are filled by one batch claim (limit = idle workers), and a
// worker that finishes passes `next` to complete()/fail(), so recording the result and
// claiming its next task share one store transaction.
import { EventEmitter } from 'node:events';
import {
  InvalidInputError,
  LeaseLostError,
  MAX_POOL_WORKERS,
  TidepoolError,
  newWorkerId,
  systemClock,
  type ClaimRequest,
  type ClaimedTask,
  type Clock,
  type PoolStats,
  type PoolStatus,
  type TaskError,
  type TimerHandle,
  type WorkerInfo,
  type WorkerStatus,
} from '../../core/index.ts';
import type { Store } from '../../store/index.ts';
import type { HandlerMap, Pool, TaskContext } from '../types.ts';
import { assessHealth } from './health.ts';
import { PoolWindow } from './window.ts';
import { Attempt } from './attempt.ts';

export interface InProcessPoolOptions {
  name: string;
  types: readonly string[];
  /** One handler per type; every type the pool serves needs one. */
  handlers: HandlerMap;
  store: Store;
  clock?: Clock;
  minWorkers: number;
  maxWorkers: number;
  /** Workers at start (default minWorkers). */
  initialWorkers?: number;
  /** Lease per claim, ms (default 30,000). */
  leaseMs?: number;
  /** Lease extension period while a task runs, ms; 0 = leaseMs / 3. */
  heartbeatMs?: number;
  /** Idle workers look for tasks this often, ms (default 1000). */
  pollMs?: number;
  /** Recycle a worker after this many tasks; 0 = never. */
  maxTasksPerWorker?: number;
  /** A task with no progress this long is a stall, ms (default 600,000). */
  stallTimeoutMs?: number;
  /** close() waits this long for running tasks by default, ms (default 30,000). */
  shutdownTimeoutMs?: number;
  /** Window for percentiles, throughput and success rate, ms (default 60,000). */
  windowMs?: number;
  /** Time a new worker spends in `starting` before it takes tasks, ms (default 0). */
  startupMs?: number;
}

interface Worker {
  id: string;
  status: WorkerStatus;
  startedAtMs: number;
  lastHeartbeatMs: number;
  idleSinceMs: number | null;
  tasksDone: number;
  /** Chosen for an in-flight batch claim; scaleTo must not remove it outright. */
  reserved: boolean;
  running: Attempt | null;
  /** Settles when the worker's current run loop ends. */
  loop: Promise<void> | null;
  startTimer: TimerHandle | null;
}

export type PoolEvent =
  | 'task.started'
  | 'task.completed'
  | 'task.failed'
  | 'task.lease_lost'
  | 'worker.added'
  | 'worker.removed'
  | 'stall'
  | 'error';

const isTask = (x: unknown): x is ClaimedTask => typeof x === 'object' && x !== null && 'leaseToken' in x;

export class InProcessPool extends EventEmitter implements Pool {
  readonly name: string;
  readonly types: readonly string[];
  private min: number;
  private max: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly handlers: HandlerMap;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly maxTasksPerWorker: number;
  private readonly stallTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly startupMs: number;
  private readonly window: PoolWindow;
  private readonly typeSet: Set<string>;

  private readonly workerMap = new Map<string, Worker>();
  private workerSeq = 0;
  private targetCount: number;
  private isClosing = false;
  private isDispatching = false;
  private dispatching: Promise<void> | null = null;
  private dispatchAgain = false;
  private pollTimer: TimerHandle | null = null;
  private unsubscribe: () => void;
  private queueDepth = 0;
  private lastRefreshMs = -Infinity;

  private completedCount = 0;
  private deadCount = 0;
  private failedAttemptCount = 0;
  private stallCount = 0;
  private leaseLostCount = 0;
  private errorCount = 0;

  constructor(options: InProcessPoolOptions) {
    super();
    this.name = options.name;
    this.types = [...options.types];
    this.typeSet = new Set(this.types);
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.handlers = options.handlers;
    const missing = this.types.filter((t) => typeof options.handlers[t] !== 'function');
    if (this.types.length === 0) throw new InvalidInputError(`pool ${JSON.stringify(this.name)}: types is empty; expected at least one task type`);
    if (missing.length)
      throw new InvalidInputError(
        `pool ${JSON.stringify(this.name)}: no handler for type${missing.length > 1 ? 's' : ''} ${missing.map((t) => JSON.stringify(t)).join(', ')}; handlers given: ${Object.keys(options.handlers).join(', ') || '(none)'}`,
      );
    checkBounds(this.name, options.minWorkers, options.maxWorkers);
    this.min = options.minWorkers;
    this.max = options.maxWorkers;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs || Math.max(1, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 1000;
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? 0;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 600_000;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.startupMs = options.startupMs ?? 0;
    this.window = new PoolWindow(options.windowMs ?? 60_000, this.clock.now());
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.kind === 'submitted' && event.types.some((t) => this.typeSet.has(t))) this.kick();
    });
    // A pool with no 'error' listener must not crash the process on a store hiccup.
    this.on('error', () => undefined);
    this.targetCount = options.initialWorkers ?? this.min;
    this.scaleTo(this.targetCount);
    this.schedulePoll();
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
  /** Errors caught in the pool's background work (emitted as `error` and counted). */
  get windowMs(): number {
    return this.window.windowMs;
  }
  get errors(): number {
    return this.errorCount;
  }
  get leaseLost(): number {
    return this.leaseLostCount;
  }

  /** Changes the bounds; the current target is not moved (the autoscaler's clamp does that). */
  setBounds(minWorkers: number, maxWorkers: number): void {
    checkBounds(this.name, minWorkers, maxWorkers);
    this.min = minWorkers;
    this.max = maxWorkers;
  }

  scaleTo(n: number): void {
    if (!Number.isInteger(n) || n < this.min || n > this.max)
      throw new InvalidInputError(`pool ${JSON.stringify(this.name)}: count ${n} is outside its bounds; expected an integer in [${this.min}, ${this.max}]`);
    if (this.isClosing) return;
    this.targetCount = n;
    const live = [...this.workerMap.values()].filter((w) => w.status !== 'draining' && w.status !== 'failed');
    if (live.length < n) {
      // Workers still draining their last task are kept on before new ones are added.
      let missing = n - live.length;
      for (const w of this.workerMap.values()) {
        if (missing === 0) break;
        if (w.status !== 'draining' || !w.running) continue;
        this.setStatus(w, 'busy');
        missing--;
      }
      for (let i = 0; i < missing; i++) this.addWorker();
      this.kick();
      return;
    }
    let excess = live.length - n;
    // Order of removal: starting, idle (longest idle first), then drain busy ones.
    const rank = (w: Worker) => (w.status === 'starting' ? 0 : w.status === 'idle' && !w.reserved ? 1 : 2);
    const victims = live.sort((a, b) => rank(a) - rank(b) || (a.idleSinceMs ?? Infinity) - (b.idleSinceMs ?? Infinity));
    for (const w of victims) {
      if (excess-- <= 0) break;
      if (rank(w) < 2) this.removeWorker(w);
      else this.setStatus(w, 'draining');
    }
  }

  workers(): WorkerInfo[] {
    return [...this.workerMap.values()].map((w) => ({
      id: w.id,
      status: w.status,
      startedAtMs: w.startedAtMs,
      lastHeartbeatMs: w.lastHeartbeatMs,
      idleSinceMs: w.idleSinceMs,
      taskId: w.running?.task.id ?? null,
      tasksDone: w.tasksDone,
    }));
  }

  stats(): PoolStats {
    const nowMs = this.clock.now();
    const c = { starting: 0, idle: 0, busy: 0, draining: 0, failed: 0 };
    let maxIdleMs = 0;
    for (const w of this.workerMap.values()) {
      c[w.status]++;
      if (w.status === 'idle' && w.idleSinceMs !== null) maxIdleMs = Math.max(maxIdleMs, nowMs - w.idleSinceMs);
    }
    const ready = c.idle + c.busy + c.draining;
    const holding = [...this.workerMap.values()].filter((w) => w.running).length;
    const f = this.window.figures(nowMs);
    const { health } = assessHealth({ successRate: f.successRate, stalledWorkers: f.recentStalls });
    const status: PoolStatus = c.starting > 0 ? 'scaling_up' : c.draining > 0 ? 'scaling_down' : 'active';
    return {
      name: this.name,
      types: [...this.types],
      status,
      total: c.starting + c.idle + c.busy + c.draining,
      starting: c.starting,
      idle: c.idle,
      busy: c.busy,
      draining: c.draining,
      failedWorkers: c.failed,
      target: this.targetCount,
      minWorkers: this.min,
      maxWorkers: this.max,
      utilization: ready === 0 ? 0 : holding / ready,
      queueDepth: this.queueDepth,
      completed: this.completedCount,
      failed: this.deadCount,
      failedAttempts: this.failedAttemptCount,
      stalls: this.stallCount,
      waitMs: f.waitMs,
      runMs: { p50: f.runMs.p50, p95: f.runMs.p95, p99: f.runMs.p99, count: f.runMs.count },
      throughputPerMin: f.throughputPerMin,
      successRate: f.successRate,
      health,
      maxIdleMs,
    };
  }

  /** Window figures beyond PoolStats (mean run time, stalls in the window) for the autoscaler. */
  windowFigures() {
    return this.window.figures(this.clock.now());
  }

  /** Re-reads the queue depth of the pool's types from the store. */
  async refresh(): Promise<number> {
    const counts = await this.store.counts();
    this.queueDepth = this.types.reduce((sum, t) => sum + (counts.runnableByType[t] ?? 0), 0);
    this.lastRefreshMs = this.clock.now();
    return this.queueDepth;
  }

  /** Lets an observer that already read the store's counts share them. */
  noteQueueDepth(depth: number): void {
    this.queueDepth = depth;
    this.lastRefreshMs = this.clock.now();
  }

  async close(timeoutMs = this.shutdownTimeoutMs): Promise<void> {
    if (this.isClosing) return this.waitForRunning();
    this.isClosing = true;
    this.pollTimer?.cancel();
    this.unsubscribe();
    for (const w of [...this.workerMap.values()]) {
      if (w.running) this.setStatus(w, 'draining');
      else if (!w.reserved) this.removeWorker(w);
    }
    let timer: TimerHandle | null = null;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs <= 0) resolve('timeout');
      else timer = this.clock.setTimer(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.waitForRunning().then(() => 'drained' as const), timedOut]);
    (timer as TimerHandle | null)?.cancel();
    if (outcome === 'timeout') {
      for (const w of this.workerMap.values()) {
        const r = w.running;
        if (r && !r.isCut) r.cut('shutdown', new TidepoolError('ShuttingDown', `task ${r.task.id}: the pool ${JSON.stringify(this.name)} closed before the task finished (waited ${timeoutMs} ms)`));
      }
      await this.waitForRunning();
    }
  }

  private async waitForRunning(): Promise<void> {
    for (;;) {
      if (this.dispatching) await this.dispatching;
      const loops = [...this.workerMap.values()].map((w) => w.loop).filter((l): l is Promise<void> => l !== null);
      if (loops.length === 0) return;
      await Promise.all(loops);
    }
  }

  // ---- workers ----

  private addWorker(): Worker {
    const nowMs = this.clock.now();
    const w: Worker = {
      id: newWorkerId(this.name, ++this.workerSeq),
      status: 'starting',
      startedAtMs: nowMs,
      lastHeartbeatMs: nowMs,
      idleSinceMs: null,
      tasksDone: 0,
      reserved: false,
      running: null,
      loop: null,
      startTimer: null,
    };
    this.workerMap.set(w.id, w);
    if (this.startupMs > 0) {
      w.startTimer = this.clock.setTimer(() => {
        w.startTimer = null;
        if (w.status !== 'starting') return;
        this.becomeIdle(w);
        this.kick();
      }, this.startupMs);
    } else this.becomeIdle(w);
    this.emit('worker.added', { pool: this.name, workerId: w.id });
    return w;
  }

  private removeWorker(w: Worker): void {
    w.startTimer?.cancel();
    if (!this.workerMap.delete(w.id)) return;
    this.emit('worker.removed', { pool: this.name, workerId: w.id, tasksDone: w.tasksDone });
  }

  private becomeIdle(w: Worker): void {
    w.status = 'idle';
    w.idleSinceMs = this.clock.now();
  }

  private setStatus(w: Worker, status: WorkerStatus): void {
    w.status = status;
    if (status !== 'idle') w.idleSinceMs = null;
  }

  /** Adds workers while fewer than the target are live (after a recycle or a stall). */
  private replenish(): void {
    if (this.isClosing) return;
    const live = [...this.workerMap.values()].filter((w) => w.status !== 'draining' && w.status !== 'failed').length;
    for (let i = live; i < this.targetCount; i++) this.addWorker();
  }

  // ---- dispatch ----

  private schedulePoll(): void {
    if (this.isClosing) return;
    this.pollTimer = this.clock.setTimer(() => {
      // An in-process worker without a task is alive as long as this loop runs: its heartbeat is the poll.
      const nowMs = this.clock.now();
      for (const w of this.workerMap.values()) if (!w.running) w.lastHeartbeatMs = nowMs;
      this.kick();
      if (this.clock.now() - this.lastRefreshMs >= Math.max(this.pollMs, 1000))
        this.refresh().catch((err) => this.report(err, 'refreshing the queue depth'));
      this.schedulePoll();
    }, this.pollMs);
  }

  /** Fills idle workers from the store; coalesces calls that arrive while a claim is in flight. */
  private kick(): void {
    if (this.isClosing) return;
    if (this.isDispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.isDispatching = true;
    this.dispatching = this.dispatch();
  }

  private async dispatch(): Promise<void> {
    try {
      do {
        this.dispatchAgain = false;
        if (this.isClosing) return;
        const idle = [...this.workerMap.values()].filter((w) => w.status === 'idle' && !w.reserved);
        if (idle.length === 0) return;
        for (const w of idle) w.reserved = true;
        let tasks: ClaimedTask[] = [];
        try {
          tasks = await this.store.claim({ workerId: idle.length === 1 ? idle[0]!.id : `${this.name}/batch`, types: this.types, limit: idle.length, leaseMs: this.leaseMs });
        } catch (err) {
          this.report(err, 'claiming tasks');
        }
        for (const w of idle) w.reserved = false;
        tasks.forEach((task, i) => this.startLoop(idle[i]!, task));
        for (const w of idle.slice(tasks.length)) {
          // Drained or closed while the claim was in flight, and got nothing to finish.
          if (w.status === 'draining' || this.isClosing) this.removeWorker(w);
        }
        if (tasks.length === idle.length) this.dispatchAgain = true;
      } while (this.dispatchAgain);
    } finally {
      // In the same synchronous step as the loop's last check, so no kick falls in a gap.
      this.isDispatching = false;
      this.dispatching = null;
    }
  }

  private startLoop(w: Worker, first: ClaimedTask): void {
    w.loop = this.runLoop(w, first).catch((err) => this.report(err, `running worker ${w.id}`));
  }

  /** Runs tasks back to back while each completion hands over the next one. */
  private async runLoop(w: Worker, first: ClaimedTask): Promise<void> {
    let task: ClaimedTask | undefined = first;
    while (task) {
      if (w.status !== 'draining') this.setStatus(w, 'busy');
      task = await this.runOne(w, task);
    }
    w.loop = null;
    if (w.status === 'failed' || w.status === 'draining' || this.isClosing) {
      this.removeWorker(w);
      this.replenish();
    } else if (this.maxTasksPerWorker > 0 && w.tasksDone >= this.maxTasksPerWorker) {
      this.removeWorker(w);
      this.replenish();
      this.kick();
    } else {
      this.becomeIdle(w);
      // The last completion may not have asked for a next task (cut short, store error).
      this.kick();
    }
  }

  private wantsNext(w: Worker): boolean {
    return !this.isClosing && w.status === 'busy' && !(this.maxTasksPerWorker > 0 && w.tasksDone >= this.maxTasksPerWorker);
  }

  /** Runs one attempt and records its outcome; returns the next task when one was claimed with it. */
  private async runOne(w: Worker, task: ClaimedTask): Promise<ClaimedTask | undefined> {
    const nowMs = this.clock.now();
    this.window.recordStart(nowMs, (task.startedAtMs ?? nowMs) - Math.max(task.createdAtMs, task.runAtMs));
    const attempt = new Attempt(task, {
      store: this.store,
      clock: this.clock,
      leaseMs: this.leaseMs,
      heartbeatMs: this.heartbeatMs,
      stallTimeoutMs: this.stallTimeoutMs,
      onHeartbeat: (atMs) => (w.lastHeartbeatMs = atMs),
      onStall: (quietMs) => {
        this.stallCount++;
        this.window.recordStall(this.clock.now());
        this.setStatus(w, 'failed');
        this.emit('stall', { pool: this.name, workerId: w.id, taskId: task.id, quietMs });
      },
      onError: (err, doing) => this.report(err, doing),
    });
    w.running = attempt;
    w.lastHeartbeatMs = nowMs;
    this.emit('task.started', { pool: this.name, workerId: w.id, taskId: task.id, attempt: task.attempts });
    const outcome = await attempt.run(this.handlers[task.type]!, w.id);
    const endMs = this.clock.now();
    const runMs = endMs - attempt.startedAtMs;
    w.tasksDone++;
    w.running = null;
    const next: ClaimRequest | undefined = this.wantsNext(w) ? { workerId: w.id, types: this.types, limit: 1, leaseMs: this.leaseMs } : undefined;
    // A success counts once the store accepted it; everything else is a failed attempt.
    if (outcome.kind !== 'ok') this.window.recordEnd(endMs, runMs, false);
    switch (outcome.kind) {
      case 'cut':
        if (outcome.cut === 'lease_lost') {
          // Fenced: another worker owns the task now (or it was cancelled); the result is dropped.
          this.noteLeaseLost(w, task, outcome.error.message);
          return undefined;
        }
        return this.recordFailure(w, task, { message: outcome.error.message, code: outcome.cut === 'shutdown' ? 'ShuttingDown' : outcome.cut === 'stalled' ? 'Stalled' : 'Timeout' }, true, next, runMs);
      case 'ok':
        try {
          const claimed = await this.store.complete(task.id, task.leaseToken, outcome.value, next);
          this.completedCount++;
          this.window.recordEnd(endMs, runMs, true);
          this.emit('task.completed', { pool: this.name, workerId: w.id, taskId: task.id, result: outcome.value, runMs });
          return claimed[0];
        } catch (err) {
          this.window.recordEnd(endMs, runMs, false);
          if (err instanceof LeaseLostError) this.noteLeaseLost(w, task, err.message);
          else this.report(err, `completing task ${task.id}`);
          return undefined;
        }
      case 'error': {
        const e = outcome.error as { message?: unknown; code?: unknown; retryable?: unknown };
        const error: TaskError = { message: typeof e?.message === 'string' ? e.message : String(outcome.error), code: typeof e?.code === 'string' ? e.code : 'HandlerError' };
        return this.recordFailure(w, task, error, e?.retryable !== false, next, runMs);
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  }

  private noteLeaseLost(w: Worker, task: ClaimedTask, reason: string): void {
    this.leaseLostCount++;
    this.emit('task.lease_lost', { pool: this.name, workerId: w.id, taskId: task.id, reason });
  }

  private async recordFailure(w: Worker, task: ClaimedTask, error: TaskError, retryable: boolean, next: ClaimRequest | undefined, runMs: number): Promise<ClaimedTask | undefined> {
    this.failedAttemptCount++;
    try {
      const claimed = await this.store.fail(task.id, task.leaseToken, error, { retryable }, next);
      const willRetry = retryable && task.attempts < task.maxAttempts;
      if (!willRetry) this.deadCount++;
      this.emit('task.failed', { pool: this.name, workerId: w.id, taskId: task.id, error, dead: !willRetry, runMs });
      return claimed.find(isTask);
    } catch (err) {
      if (err instanceof LeaseLostError) this.noteLeaseLost(w, task, err.message);
      else this.report(err, `recording the failure of task ${task.id}`);
      return undefined;
    }
  }

  private report(err: unknown, doing: string): void {
    this.errorCount++;
    const error = err instanceof Error ? err : new Error(String(err));
    this.emit('error', new TidepoolError('StoreUnavailable', `pool ${JSON.stringify(this.name)}: ${doing}: ${error.message}`, { cause: error }));
  }
}

function checkBounds(name: string, min: number, max: number): void {
  if (!Number.isInteger(min) || min < 0) throw new InvalidInputError(`pool ${JSON.stringify(name)}: minWorkers got ${min}; expected an integer >= 0`);
  if (!Number.isInteger(max) || max < Math.max(1, min) || max > MAX_POOL_WORKERS)
    throw new InvalidInputError(`pool ${JSON.stringify(name)}: maxWorkers got ${max}; expected an integer >= minWorkers (${min}), >= 1 and <= ${MAX_POOL_WORKERS} (the config's range)`);
}
