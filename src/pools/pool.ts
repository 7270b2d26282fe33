// The pool, whatever its workers are: a set of workers serving some task types, each
// running one task at a time. What a worker is (an async slot, a thread, a process, a
// remote machine) is its driver's business (driver.ts); this file owns the rest: the
// worker list and statuses, dispatch, leases, timeouts and stalls (attempt.ts), drain on
// scale-down, recycling after maxTasksPerWorker, respawn with backoff, window stats, health.
//
// Worker statuses (a contract, see core/types.ts) change only in transition(), driven by
// these events:
//   starting -> idle      ready        (the driver's start resolved; spawn -> ready is measured)
//   starting -> failed    start_failed (the driver's start rejected)      -> removed, respawned
//   idle     -> busy      took_task    (handed a task by the dispatcher)
//   busy     -> idle      task_ended   (and no next task was claimed with the result)
//   idle|busy-> draining  drain        (scale-down with no idle worker left; close)
//   draining -> busy      undrain      (scale-up before its task ended: kept on)
//   busy     -> failed    stalled      (no progress for stallTimeoutMs)    -> removed (killed), replaced
//   any      -> failed    crashed      (the worker ended on its own)       -> removed, respawned
//   busy     -> failed    killed       (a killable worker whose attempt was cut: timeout, shutdown)
// Removal is not a status: a worker leaves the list (starting or idle on scale-down,
// draining once its task ended, failed ones, recycled ones after maxTasksPerWorker).
//
// Respawn backoff: a worker that dies before it is ready, or within earlyExitMs of it,
// counts as an early exit (not a ready worker killed from outside, WorkerExit.isExternalKill:
// that is a crash only, however often it happens: the kind starts fine, someone ends it);
// replacements wait respawnBaseMs * 2^(early exits in a row - 1)
// (at most respawnMaxMs), shown as `starting` meanwhile (they count toward the workers). A
// completed task resets the count. unhealthyEarlyExits in a row make the pool unhealthy.
//
// Throughput: idle workers are filled by one batch claim (limit = idle workers; the i-th
// task is recorded as run by the i-th worker), and a worker that finishes passes `next` to
// complete()/fail(), so recording the result and claiming its next task share one store
// transaction. While runs are short, a worker also holds a few tasks ahead (claimed for it
// in batches, heartbeated while they wait; see runLoop): it starts the next one without
// waiting for the last one's commit, so a store's round trip no longer sits between runs.
import { EventEmitter } from 'node:events';
import {
  InvalidInputError,
  LeaseLostError,
  MAX_POOL_WORKERS,
  TidepoolError,
  chooseKeepOn,
  chooseScaleDown,
  compareForDispatch,
  newWorkerId,
  systemClock,
  type ClaimRequest,
  type ClaimedTask,
  type Clock,
  type PoolStats,
  type PoolStatus,
  type TaskError,
  type TaskLogLine,
  type TimerHandle,
  type WorkerFacts,
  type WorkerInfo,
  type WorkerStatus,
} from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { LogStream, WorkerDriver, WorkerExit, WorkerHandle } from './driver.ts';
import type { Pool, PoolFacts } from './types.ts';
import { assessHealth } from './health.ts';
import { PoolWindow } from './window.ts';
import { Attempt, type AttemptOutcome, type CutKind } from './attempt.ts';
import { TaskLogSink } from './log-sink.ts';

export interface WorkerPoolOptions {
  name: string;
  types: readonly string[];
  /** Starts and runs the workers (one driver per pool). */
  driver: WorkerDriver;
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
  /** Price of one worker for an hour (stats().spend; default 1: spend reads as worker-hours). */
  pricePerWorkerHour?: number;
  /** Price of one worker start (default 0). */
  pricePerStart?: number;
  /** First respawn delay after an early exit, ms (default RESPAWN_DEFAULTS.baseMs). */
  respawnBaseMs?: number;
  /** Longest respawn delay, ms (default RESPAWN_DEFAULTS.maxMs). */
  respawnMaxMs?: number;
  /** A worker dying within this long of ready counts as an early exit, ms (default RESPAWN_DEFAULTS.earlyExitMs). */
  earlyExitMs?: number;
  /** Where a task's log lines go instead of the store (default: the store, batched per turn by a TaskLogSink). */
  onTaskLog?: (line: TaskLogEvent) => void;
  /**
   * The regions whose tasks the pool claims right now, read at every claim (ClaimRequest.regions:
   * tasks without a region are always claimed); undefined, or a provider returning undefined:
   * tasks of every region. A cluster node passes its own region plus the regions failed over to it.
   */
  regions?: () => readonly string[] | undefined;
}

/** One line a task's worker printed, as the pool hands it on. */
export interface TaskLogEvent extends TaskLogLine {
  taskId: string;
}

export const RESPAWN_DEFAULTS = {
  /** ms */
  baseMs: 1000,
  /** ms */
  maxMs: 30_000,
  /** ms */
  earlyExitMs: 5000,
} as const;

type RemoveReason = 'scaled_down' | 'drained' | 'recycled' | 'closed' | 'stalled' | 'crashed' | 'start_failed' | 'killed';

interface Worker {
  id: string;
  /** Order of creation in the pool (the shared scaling choice breaks ties on it). */
  seq: number;
  status: WorkerStatus;
  /** When the worker joined the list (as `starting`). */
  startedAtMs: number;
  /** When its driver was asked to start it (after any respawn backoff). */
  spawnAtMs: number | null;
  readyAtMs: number | null;
  respawnAtMs: number | null;
  lastHeartbeatMs: number;
  idleSinceMs: number | null;
  tasksDone: number;
  /** Chosen for an in-flight batch claim; scaleTo must not remove it outright. */
  reserved: boolean;
  running: Attempt | null;
  /** Tasks claimed for this worker ahead of the one it runs (see runLoop), in claim order. */
  ahead: ClaimedTask[];
  /** Tasks asked for by its store calls still in flight. */
  asked: number;
  /** Its outcomes being recorded (each settles once committed and its claims are held). */
  recording: Set<Promise<void>>;
  /** Extends the leases of `ahead` while it waits. */
  aheadBeat: TimerHandle | null;
  /** Settles when the worker's current run loop ends. */
  loop: Promise<void> | null;
  handle: WorkerHandle | null;
  spawnTimer: TimerHandle | null;
  /** Aborts a start in progress once the pool no longer wants the worker. */
  startAbort: AbortController;
  /** Removed from the list: its exit is no crash. */
  isGone: boolean;
  /** Started to replace a ready worker killed from outside (a second such kill is an early exit). */
  /** Why it is failed, for the removal. */
  failure: { why: RemoveReason; reason: string } | null;
}

/** Everything that changes a worker's status (see the table at the top). */
type WorkerEvent =
  | { kind: 'ready' }
  | { kind: 'start_failed'; reason: string }
  | { kind: 'took_task' }
  | { kind: 'task_ended' }
  | { kind: 'drain' }
  | { kind: 'undrain' }
  | { kind: 'stalled'; reason: string }
  | { kind: 'crashed'; reason: string }
  | { kind: 'killed'; reason: string };

export type PoolEvent =
  | 'task.started'
  | 'task.completed'
  | 'task.failed'
  | 'task.lease_lost'
  | 'task.log'
  | 'worker.added'
  | 'worker.ready'
  | 'worker.removed'
  | 'worker.crashed'
  | 'worker.start_failed'
  | 'worker.respawn'
  | 'worker.recycled'
  | 'stall'
  | 'error';

/** A task a worker holds ahead waits about this long at most at the pool's average run time, ms (runLoop). */
export const LOOKAHEAD_HOLD_MS = 10;
/** Tasks a worker holds ahead, at most. */
export const LOOKAHEAD_MAX = 16;
/** Weight of the newest run in the pool's moving average of run time. */
const RUN_EWMA_WEIGHT = 0.2;

/** One attempt that ran (or could not), for recording. */
interface Ran {
  task: ClaimedTask;
  outcome: AttemptOutcome;
  endMs: number;
  runMs: number;
}

const isTask = (x: unknown): x is ClaimedTask => typeof x === 'object' && x !== null && 'leaseToken' in x;
const isPromise = <T>(x: T | Promise<T>): x is Promise<T> => typeof (x as { then?: unknown })?.then === 'function';

export class WorkerPool extends EventEmitter implements Pool {
  readonly name: string;
  readonly types: readonly string[];
  readonly kind: string;
  private min: number;
  private max: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly driver: WorkerDriver;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly maxTasksPerWorker: number;
  private readonly stallTimeoutMs: number;
  private readonly pricePerWorkerHour: number;
  private readonly pricePerStart: number;
  private workerMsTotal = 0;
  private accruedAtMs = 0;
  private startsTotal = 0;
  private readonly shutdownTimeoutMs: number;
  private readonly respawnBaseMs: number;
  private readonly respawnMaxMs: number;
  private readonly earlyExitMs: number;
  private readonly onTaskLog: ((line: TaskLogEvent) => void) | undefined;
  private readonly logSink: TaskLogSink;
  private readonly window: PoolWindow;
  private readonly typeSet: Set<string>;
  private readonly regionsOf: (() => readonly string[] | undefined) | undefined;

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
  /** Moving average of run time (null before the first run): whether workers hold a task ahead. */
  private runEwmaMs: number | null = null;
  /** Set once close() stopped waiting: held tasks are recorded as shut down, not started. */
  private closeCut: { timeoutMs: number } | null = null;
  private lastRefreshMs = -Infinity;

  private completedCount = 0;
  private deadCount = 0;
  private failedAttemptCount = 0;
  private stallCount = 0;
  private leaseLostCount = 0;
  private errorCount = 0;
  private crashCount = 0;
  private startFailureCount = 0;
  private respawnCount = 0;
  private recycleCount = 0;
  private earlyExitsInARow = 0;
  private lastExitReason: string | undefined;

  constructor(options: WorkerPoolOptions) {
    super();
    this.name = options.name;
    this.types = [...options.types];
    this.regionsOf = options.regions;
    this.typeSet = new Set(this.types);
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.driver = options.driver;
    this.kind = options.driver.kind;
    if (this.types.length === 0) throw new InvalidInputError(`pool ${JSON.stringify(this.name)}: types is empty; expected at least one task type`);
    if (options.driver.types) {
      const served = new Set(options.driver.types);
      const missing = this.types.filter((t) => !served.has(t));
      if (missing.length)
        throw new InvalidInputError(
          `pool ${JSON.stringify(this.name)}: no handler for type${missing.length > 1 ? 's' : ''} ${missing.map((t) => JSON.stringify(t)).join(', ')}; handlers given: ${options.driver.types.join(', ') || '(none)'}`,
        );
    }
    checkBounds(this.name, options.minWorkers, options.maxWorkers);
    this.min = options.minWorkers;
    this.max = options.maxWorkers;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs || Math.max(1, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 1000;
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? 0;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 600_000;
    this.pricePerWorkerHour = options.pricePerWorkerHour ?? 1;
    this.pricePerStart = options.pricePerStart ?? 0;
    this.accruedAtMs = this.clock.now();
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.respawnBaseMs = options.respawnBaseMs ?? RESPAWN_DEFAULTS.baseMs;
    this.respawnMaxMs = options.respawnMaxMs ?? RESPAWN_DEFAULTS.maxMs;
    this.earlyExitMs = options.earlyExitMs ?? RESPAWN_DEFAULTS.earlyExitMs;
    this.onTaskLog = options.onTaskLog;
    this.logSink = new TaskLogSink(this.store, (err, doing) => this.report(err, doing));
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
  get windowMs(): number {
    return this.window.windowMs;
  }
  /** Errors caught in the pool's background work (emitted as `error` and counted). */
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
    // Which workers go or come back is the rule the simulator shares (core/scaling-choice.ts).
    const live = this.liveWorkers();
    if (live.length < n) {
      // Workers still draining their last task are kept on before new ones are added.
      const draining = [...this.workerMap.values()].filter((w) => w.status === 'draining' && w.running);
      const kept = chooseKeepOn(draining.map(facts), n - live.length);
      for (const f of kept) this.transition(f.worker, { kind: 'undrain' });
      for (let i = live.length + kept.length; i < n; i++) this.addWorker(0);
      this.kick();
      return;
    }
    const choice = chooseScaleDown(live.map(facts), live.length - n);
    for (const f of choice.remove) this.removeWorker(f.worker, 'scaled_down');
    for (const f of choice.drain) this.transition(f.worker, { kind: 'drain' });
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
      startupMs: w.readyAtMs !== null && w.spawnAtMs !== null ? w.readyAtMs - w.spawnAtMs : null,
      respawnAtMs: w.status === 'starting' && w.spawnAtMs === null ? w.respawnAtMs : null,
    }));
  }

  stats(): PoolStats {
    const nowMs = this.clock.now();
    const c = { starting: 0, idle: 0, busy: 0, draining: 0, failed: 0 };
    let maxIdleMs = 0;
    let holding = 0;
    for (const w of this.workerMap.values()) {
      c[w.status]++;
      if (w.running) holding++;
      if (w.status === 'idle' && w.idleSinceMs !== null) maxIdleMs = Math.max(maxIdleMs, nowMs - w.idleSinceMs);
    }
    const ready = c.idle + c.busy + c.draining;
    const f = this.window.figures(nowMs);
    const { health, reasons } = assessHealth({
      successRate: f.successRate,
      endedAttempts: f.ended,
      stalledWorkers: f.recentStalls,
      recentCrashes: f.recentCrashes,
      earlyExitsInARow: this.earlyExitsInARow,
      lastExitReason: this.lastExitReason,
    });
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
      kind: this.kind,
      startupMs: f.startupMs.p95,
      crashes: this.crashCount,
      startFailures: this.startFailureCount,
      respawns: this.respawnCount,
      recycles: this.recycleCount,
      respawnBackoffMs: this.respawnDelayMs(),
      healthReasons: reasons,
      ...this.spendFigures(nowMs),
    };
  }

  private spendFigures(nowMs: number): { workerSeconds: number; starts: number; spend: number } {
    const workerSeconds = (this.workerMsTotal + this.workerMap.size * Math.max(0, nowMs - this.accruedAtMs)) / 1000;
    return { workerSeconds, starts: this.startsTotal, spend: (workerSeconds / 3600) * this.pricePerWorkerHour + this.startsTotal * this.pricePerStart };
  }

  /** Window figures beyond PoolStats (mean run time, stalls in the window). */
  windowFigures() {
    return this.window.figures(this.clock.now());
  }

  /** The facts the autoscaler's observation needs beyond stats(). */
  facts(): PoolFacts {
    const f = this.window.figures(this.clock.now());
    return { runMeanMs: f.runMs.mean, windowMs: this.window.windowMs, startupMs: f.startupMs.p95, startupSamples: f.startupMs.count };
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
      // A worker between two tasks (its run loop on) still records, or runs what it holds.
      if (w.running || w.loop) this.transition(w, { kind: 'drain' });
      else if (!w.reserved) this.removeWorker(w, 'closed');
    }
    let timer: TimerHandle | null = null;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs <= 0) resolve('timeout');
      else timer = this.clock.setTimer(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.waitForRunning().then(() => 'drained' as const), timedOut]);
    (timer as TimerHandle | null)?.cancel();
    if (outcome === 'timeout') {
      this.closeCut = { timeoutMs };
      for (const w of this.workerMap.values()) {
        const r = w.running;
        if (r && !r.isCut) r.cut('shutdown', new TidepoolError('ShuttingDown', `task ${r.task.id}: the pool ${JSON.stringify(this.name)} closed before the task finished (waited ${timeoutMs} ms)`));
      }
      await this.waitForRunning();
    }
    for (const w of [...this.workerMap.values()]) this.removeWorker(w, 'closed');
    await this.logSink.flush();
    try {
      await this.driver.close?.();
    } catch (err) {
      this.report(err, `closing the ${this.kind} driver`);
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

  // ---- worker statuses ----

  /** The one place a worker's status changes. */
  private transition(w: Worker, ev: WorkerEvent): void {
    const from = w.status;
    let next: WorkerStatus;
    switch (ev.kind) {
      case 'ready':
        if (from !== 'starting') return;
        next = 'idle';
        break;
      case 'took_task':
        // A worker drained (or failed) while its claim was in flight keeps that status.
        if (from !== 'idle') return;
        next = 'busy';
        break;
      case 'task_ended':
        if (from !== 'busy') return;
        next = 'idle';
        break;
      case 'drain':
        if (from !== 'idle' && from !== 'busy' && from !== 'starting') return;
        next = 'draining';
        break;
      case 'undrain':
        if (from !== 'draining') return;
        next = 'busy';
        break;
      case 'start_failed':
      case 'stalled':
      case 'crashed':
      case 'killed':
        if (from === 'failed') return;
        next = 'failed';
        w.failure = { why: ev.kind, reason: ev.reason };
        break;
      default: {
        const never: never = ev;
        throw new Error(`unknown worker event ${JSON.stringify(never)}`);
      }
    }
    if (w.status === next) return;
    w.status = next;
    w.idleSinceMs = next === 'idle' ? this.clock.now() : null;
  }

  private liveWorkers(): Worker[] {
    return [...this.workerMap.values()].filter((w) => w.status !== 'draining' && w.status !== 'failed');
  }

  /** Adds a worker in `starting`; its driver is asked to start it after delayMs (a respawn backoff). */
  /** Adds up worker-time up to now (before the number of workers changes). */
  private accrue(): void {
    const nowMs = this.clock.now();
    this.workerMsTotal += this.workerMap.size * Math.max(0, nowMs - this.accruedAtMs);
    this.accruedAtMs = nowMs;
  }

  private addWorker(delayMs: number): Worker {
    const nowMs = this.clock.now();
    this.accrue();
    this.startsTotal++;
    const w: Worker = {
      id: newWorkerId(this.name, ++this.workerSeq),
      seq: this.workerSeq,
      status: 'starting',
      startedAtMs: nowMs,
      spawnAtMs: null,
      readyAtMs: null,
      respawnAtMs: delayMs > 0 ? nowMs + delayMs : null,
      lastHeartbeatMs: nowMs,
      idleSinceMs: null,
      tasksDone: 0,
      reserved: false,
      running: null,
      ahead: [],
      asked: 0,
      recording: new Set(),
      aheadBeat: null,
      loop: null,
      handle: null,
      spawnTimer: null,
      startAbort: new AbortController(),
      isGone: false,
      failure: null,
    };
    this.workerMap.set(w.id, w);
    this.emit('worker.added', { pool: this.name, workerId: w.id, delayMs });
    if (delayMs > 0)
      w.spawnTimer = this.clock.setTimer(() => {
        w.spawnTimer = null;
        this.spawn(w);
      }, delayMs);
    else this.spawn(w);
    return w;
  }

  private spawn(w: Worker): void {
    if (w.isGone || w.status !== 'starting') return;
    w.spawnAtMs = this.clock.now();
    let started: WorkerHandle | Promise<WorkerHandle>;
    try {
      started = this.driver.start({ workerId: w.id, signal: w.startAbort.signal });
    } catch (err) {
      this.onStartFailed(w, err);
      return;
    }
    if (isPromise(started))
      started.then(
        (handle) => {
          this.onStarted(w, handle);
          this.kick();
        },
        (err) => this.onStartFailed(w, err),
      );
    else this.onStarted(w, started);
  }

  private onStarted(w: Worker, handle: WorkerHandle): void {
    if (w.isGone || w.status !== 'starting') {
      // Scaled down or closed while it started: it is not wanted any more.
      handle.stop('kill').catch((err) => this.report(err, `stopping worker ${w.id}`));
      return;
    }
    const nowMs = this.clock.now();
    w.handle = handle;
    w.readyAtMs = nowMs;
    w.lastHeartbeatMs = nowMs;
    const startupMs = nowMs - (w.spawnAtMs ?? nowMs);
    this.window.recordStartup(nowMs, startupMs);
    this.transition(w, { kind: 'ready' });
    handle.exited.then(
      (exit) => this.onExited(w, exit),
      (err) => this.onExited(w, { reason: `its exit could not be read: ${String(err)}`, error: err instanceof Error ? err : undefined }),
    );
    this.emit('worker.ready', { pool: this.name, workerId: w.id, startupMs });
  }

  private onStartFailed(w: Worker, err: unknown): void {
    if (w.isGone || w.status !== 'starting') return;
    const reason = err instanceof Error ? err.message : String(err);
    this.startFailureCount++;
    this.noteEarlyExit(reason);
    this.transition(w, { kind: 'start_failed', reason });
    this.emit('worker.start_failed', { pool: this.name, workerId: w.id, reason, respawnInMs: this.respawnDelayMs() });
    this.removeWorker(w, 'start_failed');
    this.replenish('respawn');
  }

  /** The worker ended on its own: its task (if any) fails as WorkerCrashed and it is respawned. */
  private onExited(w: Worker, exit: WorkerExit): void {
    if (w.isGone) return;
    this.noteCrash(w, exit.reason, exit.isExternalKill === true);
    if (w.running || w.reserved) {
      // A claim in flight hands its task to this worker: runOne records it as crashed.
      if (w.running && !w.running.isCut) w.running.cut('crashed', new TidepoolError('WorkerCrashed', `task ${w.running.task.id}: worker ${w.id} ended while running it: ${exit.reason}`, { cause: exit.error }));
      // The run loop (or the dispatcher) removes and replaces it once the attempt is recorded.
      return;
    }
    this.removeWorker(w, 'crashed');
    this.replenish('respawn');
  }

  /**
   * Counts a crash once per worker and marks it failed. A ready worker killed from outside is
   * no early exit (the kind starts fine; someone ended it), even when kills come one after another.
   */
  private noteCrash(w: Worker, reason: string, isExternalKill = false): void {
    // Once failed (a stall, a kill, a crash already noted), the process ending is that failure's end, not a crash.
    if (w.failure) return;
    const nowMs = this.clock.now();
    const isSoon = w.readyAtMs === null || nowMs - w.readyAtMs < this.earlyExitMs;
    const isEarly = isSoon && (w.readyAtMs === null || !isExternalKill);
    this.crashCount++;
    this.window.recordCrash(nowMs);
    if (isEarly) this.noteEarlyExit(reason);
    this.lastExitReason = reason;
    this.transition(w, { kind: 'crashed', reason });
    this.emit('worker.crashed', { pool: this.name, workerId: w.id, reason, taskId: w.running?.task.id ?? null, isEarly, respawnInMs: this.respawnDelayMs() });
  }

  private noteEarlyExit(reason: string): void {
    this.earlyExitsInARow++;
    this.lastExitReason = reason;
  }

  /** Delay before the next respawn: 0, or base * 2^(early exits in a row - 1), at most max. */
  private respawnDelayMs(): number {
    if (this.earlyExitsInARow === 0) return 0;
    return Math.min(this.respawnMaxMs, this.respawnBaseMs * 2 ** Math.min(30, this.earlyExitsInARow - 1));
  }

  private removeWorker(w: Worker, why: RemoveReason): void {
    w.spawnTimer?.cancel();
    w.spawnTimer = null;
    if (w.isGone || !this.workerMap.has(w.id)) return;
    this.accrue();
    this.workerMap.delete(w.id);
    w.isGone = true;
    w.startAbort.abort();
    if (w.handle) {
      const mode = why === 'scaled_down' || why === 'drained' || why === 'recycled' || why === 'closed' ? 'drain' : 'kill';
      w.handle.stop(mode).catch((err) => this.report(err, `stopping worker ${w.id} (${mode})`));
    }
    this.emit('worker.removed', { pool: this.name, workerId: w.id, tasksDone: w.tasksDone, why });
  }

  /** Adds workers while fewer than the target are live (after a crash, a recycle, a stall). */
  private replenish(why: 'respawn' | 'recycle'): void {
    if (this.isClosing) return;
    const live = this.liveWorkers().length;
    const delayMs = why === 'respawn' ? this.respawnDelayMs() : 0;
    for (let i = live; i < this.targetCount; i++) {
      const w = this.addWorker(delayMs);
      if (why === 'respawn') {
        this.respawnCount++;
        this.emit('worker.respawn', { pool: this.name, workerId: w.id, delayMs });
      }
    }
  }

  // ---- dispatch ----

  private schedulePoll(): void {
    if (this.isClosing) return;
    this.pollTimer = this.clock.setTimer(() => {
      // A worker without a task is alive as long as its driver has not reported an exit: its heartbeat is the poll.
      const nowMs = this.clock.now();
      for (const w of this.workerMap.values()) if (!w.running && w.handle) w.lastHeartbeatMs = nowMs;
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
        // The most recently idle worker takes the next task (the shared rule), so long-idle ones are the ones a scale-down removes.
        const idle = [...this.workerMap.values()]
          .filter((w) => w.status === 'idle' && !w.reserved)
          .map(facts)
          .sort(compareForDispatch)
          .map((f) => f.worker);
        if (idle.length === 0) return;
        for (const w of idle) w.reserved = true;
        let tasks: ClaimedTask[] = [];
        try {
          tasks = await this.store.claim({ workerId: idle[0]!.id, workerIds: idle.map((w) => w.id), types: this.types, limit: idle.length, leaseMs: this.leaseMs, ...this.claimScope() });
        } catch (err) {
          this.report(err, 'claiming tasks');
        }
        for (const w of idle) w.reserved = false;
        tasks.forEach((task, i) => this.startLoop(idle[i]!, task));
        for (const w of idle.slice(tasks.length)) {
          // Drained, closed or crashed while the claim was in flight, and got nothing to finish.
          if (w.status === 'draining' || this.isClosing) this.removeWorker(w, this.isClosing ? 'closed' : 'drained');
          else if (w.status === 'failed') {
            this.removeWorker(w, w.failure?.why ?? 'crashed');
            this.replenish('respawn');
          }
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

  /**
   * Runs tasks back to back. Each outcome is recorded with a claim of what the worker needs
   * next in the same store call (complete/fail with `next`). While runs are short the
   * worker also holds tasks ahead (lookAheadDepth: about LOOKAHEAD_HOLD_MS of work, at most
   * LOOKAHEAD_MAX, refilled in batches once half is used): it starts the next one at once
   * and records the outcome it just had without waiting for the commit, so the store's
   * round trip overlaps runs instead of sitting between two. A held task is leased to this
   * worker (the store names it) and heartbeated while it waits; it runs on this worker even
   * when the worker drains or the pool closes (close() waits for it), or is recorded as
   * crashed (the worker died) or shut down (close() timed out) like a running one, so it
   * goes back to the queue at once, never by a lease timeout.
   */
  private async runLoop(w: Worker, first: ClaimedTask): Promise<void> {
    let task: ClaimedTask | undefined = first;
    while (task) {
      this.transition(w, { kind: 'took_task' });
      const ran = await this.runAttempt(w, task);
      task = w.ahead.shift();
      this.recordAndAsk(w, ran, task !== undefined);
      // Nothing held: wait for the completions that claim this worker's next task.
      while (!task && w.asked > 0) {
        await Promise.race(w.recording);
        task = w.ahead.shift();
      }
    }
    // Its outcomes are committed before the worker counts as idle (or leaves).
    while (w.recording.size > 0) await Promise.all(w.recording);
    w.aheadBeat?.cancel();
    w.aheadBeat = null;
    w.loop = null;
    if (w.status === 'failed') {
      this.removeWorker(w, w.failure?.why ?? 'killed');
      this.replenish('respawn');
    } else if (w.status === 'draining' || this.isClosing) {
      this.removeWorker(w, this.isClosing ? 'closed' : 'drained');
    } else if (this.maxTasksPerWorker > 0 && w.tasksDone >= this.maxTasksPerWorker) {
      this.recycleCount++;
      this.emit('worker.recycled', { pool: this.name, workerId: w.id, tasksDone: w.tasksDone });
      this.removeWorker(w, 'recycled');
      this.replenish('recycle');
      this.kick();
    } else {
      this.transition(w, { kind: 'task_ended' });
      // The last completion may not have asked for a next task (cut short, store error).
      this.kick();
    }
  }

  /** The region filter of the pool's claims (none without a provider). */
  private claimScope(): { regions?: readonly string[] } {
    const regions = this.regionsOf?.();
    return regions === undefined ? {} : { regions };
  }

  /**
   * Tasks a worker may hold ahead of the one it runs: as many as it runs in about
   * LOOKAHEAD_HOLD_MS at the pool's average run time, at most LOOKAHEAD_MAX (0 before the
   * first run and for runs longer than LOOKAHEAD_HOLD_MS).
   */
  private lookAheadDepth(): number {
    if (this.runEwmaMs === null) return 0;
    return Math.min(LOOKAHEAD_MAX, Math.floor(LOOKAHEAD_HOLD_MS / Math.max(this.runEwmaMs, LOOKAHEAD_HOLD_MS / LOOKAHEAD_MAX)));
  }

  /**
   * How many tasks the worker's next store call claims: none while it holds or awaits more
   * than half its look-ahead; else its next one (unless it holds one) and a refill of the
   * look-ahead, so claims come in batches. None once it drains, the pool closes or it
   * reached maxTasksPerWorker.
   */
  private askFor(w: Worker, holding: boolean): number {
    if (this.isClosing || w.status !== 'busy') return 0;
    const depth = this.lookAheadDepth();
    const pending = (holding ? 1 : 0) + w.ahead.length + w.asked;
    if (pending > 0 && pending * 2 > depth) return 0;
    let want = 1 + depth - pending;
    if (this.maxTasksPerWorker > 0) want = Math.min(want, this.maxTasksPerWorker - w.tasksDone - pending);
    return Math.max(0, want);
  }

  /** Records an attempt's outcome in the background; what it claims joins the worker's held tasks. */
  private recordAndAsk(w: Worker, ran: Ran, holding: boolean): void {
    const isFenced = ran.outcome.kind === 'cut' && ran.outcome.cut === 'lease_lost';
    const limit = isFenced ? 0 : this.askFor(w, holding);
    const next: ClaimRequest | undefined = limit > 0 ? { workerId: w.id, types: this.types, limit, leaseMs: this.leaseMs, ...this.claimScope() } : undefined;
    w.asked += limit;
    const recorded: Promise<void> = this.recordOutcome(w, ran, next)
      .catch((err): ClaimedTask[] => {
        this.report(err, `recording the outcome of task ${ran.task.id}`);
        return [];
      })
      .then((claimed) => {
        w.asked -= limit;
        w.recording.delete(recorded);
        if (claimed.length === 0) return;
        w.ahead.push(...claimed);
        this.armAheadBeat(w);
      });
    w.recording.add(recorded);
  }

  /** Extends the leases of the tasks a worker holds ahead every heartbeatMs while it holds any. */
  private armAheadBeat(w: Worker): void {
    if (w.aheadBeat || w.ahead.length === 0) return;
    w.aheadBeat = this.clock.setTimer(() => {
      w.aheadBeat = null;
      for (const task of [...w.ahead]) {
        this.store.heartbeat(task.id, task.leaseToken, this.leaseMs).then(
          () => undefined,
          (err) => {
            const at = w.ahead.indexOf(task);
            if (!(err instanceof LeaseLostError)) this.report(err, `extending the lease of task ${task.id} (held by worker ${w.id})`);
            else if (at >= 0) {
              w.ahead.splice(at, 1);
              this.noteLeaseLost(w, task, err.message);
            }
          },
        );
      }
      this.armAheadBeat(w);
    }, this.heartbeatMs);
  }

  /** Runs one attempt of a task on the worker (or records why it could not run). */
  private async runAttempt(w: Worker, task: ClaimedTask): Promise<Ran> {
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
        this.transition(w, { kind: 'stalled', reason: `task ${task.id} made no progress for ${quietMs} ms` });
        this.emit('stall', { pool: this.name, workerId: w.id, taskId: task.id, quietMs });
      },
      onError: (err, doing) => this.report(err, doing),
      onLog: (stream, text) => this.log(task, stream, text),
    });
    w.running = attempt;
    w.lastHeartbeatMs = nowMs;
    this.emit('task.started', { pool: this.name, workerId: w.id, taskId: task.id, attempt: task.attempts });
    // A worker that died while its claim was in flight never gets the task; nor does a held task once close() cut the running ones.
    const outcome: AttemptOutcome =
      w.status === 'failed' || !w.handle
        ? deadWorkerOutcome(w)
        : this.closeCut
          ? { kind: 'cut', cut: 'shutdown', error: new TidepoolError('ShuttingDown', `task ${task.id}: the pool ${JSON.stringify(this.name)} closed before the task started (waited ${this.closeCut.timeoutMs} ms for the running ones)`) }
          : await attempt.run(w.handle, w.id);
    const endMs = this.clock.now();
    const runMs = endMs - attempt.startedAtMs;
    this.runEwmaMs = this.runEwmaMs === null ? runMs : this.runEwmaMs + RUN_EWMA_WEIGHT * (runMs - this.runEwmaMs);
    w.tasksDone++;
    w.running = null;
    // A killable worker whose attempt was cut may still be running it: it goes, a fresh one replaces it.
    if (outcome.kind === 'cut' && (outcome.cut === 'timeout' || outcome.cut === 'shutdown') && this.driver.canKill && w.status !== 'failed')
      this.transition(w, { kind: 'killed', reason: `its attempt of task ${task.id} was cut (${outcome.cut})` });
    if (outcome.kind === 'crashed') this.noteCrash(w, outcome.error.message);
    // A success counts once the store accepted it; everything else is a failed attempt.
    if (outcome.kind !== 'ok') this.window.recordEnd(endMs, runMs, false);
    return { task, outcome, endMs, runMs };
  }

  /** Records an attempt's outcome; returns what `next` claimed with it. */
  private async recordOutcome(w: Worker, ran: Ran, next: ClaimRequest | undefined): Promise<ClaimedTask[]> {
    const { task, outcome, endMs, runMs } = ran;
    switch (outcome.kind) {
      case 'cut':
        if (outcome.cut === 'lease_lost') {
          // Fenced: another worker owns the task now (or it was cancelled); the result is dropped.
          this.noteLeaseLost(w, task, outcome.error.message);
          return [];
        }
        return this.recordFailure(w, task, { message: outcome.error.message, code: CUT_CODES[outcome.cut] }, true, next, runMs);
      case 'crashed':
        return this.recordFailure(w, task, { message: `task ${task.id}: worker ${w.id} ended while running it: ${outcome.error.message}`, code: 'WorkerCrashed' }, true, next, runMs);
      case 'ok':
        try {
          const claimed = await this.store.complete(task.id, task.leaseToken, outcome.value, next);
          this.completedCount++;
          // A worker that completed a task proves the kind can run: respawns start afresh.
          this.earlyExitsInARow = 0;
          this.window.recordEnd(endMs, runMs, true);
          this.emit('task.completed', { pool: this.name, workerId: w.id, taskId: task.id, result: outcome.value, runMs });
          return claimed;
        } catch (err) {
          // A result the store refuses (nested too deep) fails the attempt for good: it would never be kept.
          if (err instanceof InvalidInputError) return this.recordFailure(w, task, { message: `task ${task.id}: its handler's ${err.message}`, code: 'InvalidResult' }, false, next, runMs);
          this.window.recordEnd(endMs, runMs, false);
          if (err instanceof LeaseLostError) this.noteLeaseLost(w, task, err.message);
          else this.report(err, `completing task ${task.id}`);
          return [];
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

  private log(task: ClaimedTask, stream: LogStream, text: string): void {
    const line: TaskLogEvent = { taskId: task.id, attempt: task.attempts, atMs: this.clock.now(), stream, text };
    this.emit('task.log', line);
    if (!this.onTaskLog) return this.logSink.add(task.id, { attempt: line.attempt, atMs: line.atMs, stream, text });
    try {
      this.onTaskLog(line);
    } catch (err) {
      this.report(err, `keeping a log line of task ${task.id}`);
    }
  }

  private noteLeaseLost(w: Worker, task: ClaimedTask, reason: string): void {
    this.leaseLostCount++;
    this.emit('task.lease_lost', { pool: this.name, workerId: w.id, taskId: task.id, reason });
  }

  private async recordFailure(w: Worker, task: ClaimedTask, error: TaskError, retryable: boolean, next: ClaimRequest | undefined, runMs: number): Promise<ClaimedTask[]> {
    this.failedAttemptCount++;
    try {
      const claimed = await this.store.fail(task.id, task.leaseToken, error, { retryable }, next);
      const willRetry = retryable && task.attempts < task.maxAttempts;
      if (!willRetry) this.deadCount++;
      this.emit('task.failed', { pool: this.name, workerId: w.id, taskId: task.id, error, dead: !willRetry, runMs });
      return claimed.filter(isTask);
    } catch (err) {
      if (err instanceof LeaseLostError) this.noteLeaseLost(w, task, err.message);
      else this.report(err, `recording the failure of task ${task.id}`);
      return [];
    }
  }

  /** Counts and emits an error caught in background work or contained from hosted code. */
  report(err: unknown, doing: string): void {
    this.errorCount++;
    const error = err instanceof Error ? err : new Error(String(err));
    const code = err instanceof TidepoolError ? err.code : 'StoreUnavailable';
    this.emit('error', new TidepoolError(code, `pool ${JSON.stringify(this.name)}: ${doing}: ${error.message}`, { cause: error }));
  }
}

function deadWorkerOutcome(w: Worker): AttemptOutcome {
  return { kind: 'crashed', error: new Error(w.failure?.reason ?? 'the worker was gone before the task reached it') };
}

/** The task error code each way of cutting an attempt short records. */
const CUT_CODES: Record<Exclude<CutKind, 'lease_lost'>, string> = {
  timeout: 'Timeout',
  stalled: 'Stalled',
  crashed: 'WorkerCrashed',
  shutdown: 'ShuttingDown',
};

/** A worker as the shared scaling choice sees it: a claim in flight counts as busy (it may get a task). */
function facts(w: Worker): WorkerFacts & { worker: Worker } {
  const status = w.status === 'idle' && w.reserved ? 'busy' : w.status === 'failed' ? 'draining' : w.status;
  return {
    worker: w,
    seq: w.seq,
    status,
    addedAtMs: w.startedAtMs,
    idleSinceMs: status === 'idle' ? w.idleSinceMs : null,
    taskStartedAtMs: w.running?.startedAtMs ?? null,
  };
}

function checkBounds(name: string, min: number, max: number): void {
  if (!Number.isInteger(min) || min < 0) throw new InvalidInputError(`pool ${JSON.stringify(name)}: minWorkers got ${min}; expected an integer >= 0`);
  if (!Number.isInteger(max) || max < Math.max(1, min) || max > MAX_POOL_WORKERS)
    throw new InvalidInputError(`pool ${JSON.stringify(name)}: maxWorkers got ${max}; expected an integer >= minWorkers (${min}), >= 1 and <= ${MAX_POOL_WORKERS} (the config's range)`);
}
