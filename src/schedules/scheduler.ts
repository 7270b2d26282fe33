// The scheduler: one per process, but only the holder of the `scheduler` lease submits
// ticks, so several nodes on one store submit each tick once. States of a Scheduler:
//   follower  -> leader    acquireLease granted (the lease was free, lapsed or released)
//   leader    -> leader    renewed at each pass (at least every leaseMs / 3)
//   leader    -> follower  a renewal refused or a fenced write refused (FencedError): the
//                          lease lapsed (a long pause) and another node holds it now
//   any       -> stopped   close(): the lease is released, so another node takes over at once
//
// For each due tick, in order: submit the task with idempotency key
// `schedule:<name>:<tickMs>` (runAtMs = the tick) FIRST, then record the tick as the
// schedule's progress with a write fenced by the lease token. A crash between the two
// submits the same tick again on the next pass (this node's or another's), and the
// idempotency key returns the task already there; a paused ex-leader's late progress
// write is refused. The progress record outlives the tasks (see catalog.ts).
//
// Events: `leader` (token) when this node takes the lease, `follower` when it loses it,
// `submitted` (TickSubmitted) per tick, `error` for background failures.
//
// Time: due ticks are judged on the store's time of record (store.now(): the database's
// clock on shared stores, so a new leader with a skewed clock agrees with the old one);
// timers run on the injected Clock.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { FencedError, scheduleTaskKey, TidepoolError } from '../core/index.ts';
import type { Clock, Json, TimerHandle } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { progressOf, SCHEDULE_PREFIX, SCHEDULER_LEASE, TICK_PREFIX, toRecord, toTickRecord } from './catalog.ts';
import type { ScheduleRecord, TickRecord } from './catalog.ts';
import { nextTickMs, planTicks } from './ticks.ts';

export interface SchedulerSettings {
  /** false: never take the lease (this node serves the API only). */
  enabled: boolean;
  /** Time to live of the scheduler lease; renewed every leaseMs / 3. */
  leaseMs: number;
  /** A tick at most this late is on time; older unsubmitted ticks are missed (catchUp decides). */
  graceMs: number;
  /** catchUp `all`: most missed ticks submitted per schedule. */
  catchUpLimit: number;
}

/** A schedule failing the same way again is reported at most this often. */
const REPEAT_REPORT_MS = 60_000;

export const SCHEDULER_DEFAULTS: SchedulerSettings = { enabled: true, leaseMs: 10_000, graceMs: 30_000, catchUpLimit: 100 };

export interface SchedulerOptions extends Partial<SchedulerSettings> {
  store: Store;
  clock: Clock;
  /** Who holds the lease (default host:pid:random). */
  holder?: string;
  log?: (line: string) => void;
}

/** What the scheduler emits for each tick it submitted (`submitted`). */
export interface TickSubmitted {
  schedule: string;
  tickMs: number;
  taskId: string;
  /** false: the task was already there (a tick re-submitted after a crash; the idempotency key returned it). */
  created: boolean;
}

export class Scheduler extends EventEmitter {
  readonly holder: string;
  readonly settings: SchedulerSettings;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private token: number | null = null;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => void) | null = null;
  /** Schedules whose last pass failed: the message and when it was last reported. */
  private readonly failing = new Map<string, { message: string; atMs: number }>();
  /** Definitions already reported as unreadable (reported once each). */
  private readonly badKeys = new Set<string>();

  constructor(o: SchedulerOptions) {
    super();
    this.store = o.store;
    this.clock = o.clock;
    this.settings = {
      enabled: o.enabled ?? SCHEDULER_DEFAULTS.enabled,
      leaseMs: o.leaseMs ?? SCHEDULER_DEFAULTS.leaseMs,
      graceMs: o.graceMs ?? SCHEDULER_DEFAULTS.graceMs,
      catchUpLimit: o.catchUpLimit ?? SCHEDULER_DEFAULTS.catchUpLimit,
    };
    this.holder = o.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.log = o.log ?? (() => undefined);
  }

  /** True while this node holds the scheduler lease (as of its last pass). */
  get isLeader(): boolean {
    return this.token !== null;
  }

  start(): void {
    if (!this.stopped || !this.settings.enabled) return;
    this.stopped = false;
    // A schedule created or deleted on any node wakes the leader at once (state events).
    this.unsubscribe = this.store.subscribe((e) => {
      if (e.kind === 'state' && e.key.startsWith(SCHEDULE_PREFIX) && this.token !== null) this.wake();
    });
    this.arm(0);
  }

  /** Runs a pass now (or right after the one running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.arm(0);
  }

  /** Stops ticking and releases the lease so another node takes over at once. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe?.();
    await this.running;
    if (this.token !== null) {
      this.token = null;
      await this.store.releaseLease(SCHEDULER_LEASE, this.holder).catch((err: Error) => this.report(err, 'releasing the scheduler lease'));
    }
  }

  private arm(ms: number): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.running = this.pass()
        .then((waitMs) => waitMs, (err: Error) => {
          this.report(err, 'a scheduler pass');
          return this.renewEveryMs();
        })
        .then((waitMs) => {
          this.running = null;
          if (this.stopped) return;
          const rerun = this.again;
          this.again = false;
          this.arm(rerun ? 0 : waitMs);
        });
    }, ms);
  }

  private renewEveryMs(): number {
    return Math.max(1, Math.floor(this.settings.leaseMs / 3));
  }

  private report(err: Error, doing: string): void {
    const wrapped = err instanceof TidepoolError ? err : new TidepoolError('StoreUnavailable', `scheduler: ${doing} failed: ${err.message}`, { cause: err });
    if (this.listenerCount('error') > 0) this.emit('error', wrapped);
    else this.log(`scheduler: ${doing} failed: ${err.message}`);
  }

  /** One pass: renew (or take) the lease; as the leader, submit every due tick. Returns ms until the next pass. */
  private async pass(): Promise<number> {
    const renewMs = this.renewEveryMs();
    const lease = await this.store.acquireLease(SCHEDULER_LEASE, this.holder, this.settings.leaseMs);
    if (!lease) {
      if (this.token !== null) {
        this.log(`scheduler: lost the scheduler lease; another node submits ticks now`);
        this.emit('follower');
      }
      this.token = null;
      return renewMs;
    }
    const isNew = this.token !== lease.token;
    this.token = lease.token;
    if (isNew) {
      this.log(`scheduler: holding the scheduler lease (token ${lease.token}); this node submits due ticks`);
      this.emit('leader', lease.token);
    }
    const nowMs = await this.store.now();
    const [defs, ticks] = await Promise.all([this.store.listState(SCHEDULE_PREFIX), this.store.listState(TICK_PREFIX)]);
    const tickByName = new Map(ticks.map((t) => [t.key.slice(TICK_PREFIX.length), toTickRecord(t)]));
    let untilMs = nowMs + renewMs;
    for (const def of defs) {
      if (this.stopped) break;
      const record = toRecord(def);
      if (!record) {
        if (!this.badKeys.has(def.key)) this.report(new TidepoolError('InvalidInput', `scheduler: state ${JSON.stringify(def.key)} is not a schedule this version reads; skipped`), 'reading schedules');
        this.badKeys.add(def.key);
        continue;
      }
      const tick = tickByName.get(record.name) ?? null;
      tickByName.delete(record.name);
      try {
        const nextMs = await this.runSchedule(record, tick, lease.token, nowMs);
        this.failing.delete(record.name);
        if (nextMs !== null) untilMs = Math.min(untilMs, nextMs);
      } catch (err) {
        if (err instanceof FencedError) {
          this.log(`scheduler: ${err.message}; another node submits ticks now`);
          this.token = null;
          this.emit('follower');
          return renewMs;
        }
        // One schedule's failure (its tasks refused: queue full, store error) does not stop the others; it is
        // retried next pass, and reported once per minute while it keeps failing the same way.
        const last = this.failing.get(record.name);
        const message = (err as Error).message;
        if (!last || last.message !== message || nowMs - last.atMs >= REPEAT_REPORT_MS) {
          this.failing.set(record.name, { message, atMs: nowMs });
          this.report(err as Error, `schedule ${JSON.stringify(record.name)}`);
        }
        untilMs = Math.min(untilMs, nowMs + Math.min(renewMs, 1000));
      }
    }
    // Progress of schedules deleted meanwhile (catalog deletes both; a late tick write may leave one).
    for (const name of tickByName.keys()) {
      await this.store.deleteState(TICK_PREFIX + name, { fence: { lease: SCHEDULER_LEASE, token: lease.token } }).catch((err: Error) => {
        if (!(err instanceof FencedError)) this.report(err, `removing the progress of deleted schedule ${JSON.stringify(name)}`);
      });
    }
    return Math.max(1, untilMs - nowMs);
  }

  /** Submits a schedule's due ticks; returns its next tick (ms) or null. */
  private async runSchedule(record: ScheduleRecord, tick: TickRecord | null, token: number, nowMs: number): Promise<number | null> {
    const afterMs = progressOf(record, tick);
    const plan = planTicks({ cron: record.cron, timezone: record.timezone, catchUp: record.catchUp, afterMs, nowMs, graceMs: this.settings.graceMs, catchUpLimit: this.settings.catchUpLimit });
    if (plan.missed) {
      const kept = plan.submitMs.length;
      this.log(`scheduler: schedule ${JSON.stringify(record.name)} missed ticks from ${new Date(plan.missed.fromMs).toISOString()} (over ${this.settings.graceMs} ms late); catchUp ${plan.missed.rule} submits ${kept} of them`);
    }
    const fence = { lease: SCHEDULER_LEASE, token };
    let lastTaskId: string | null = tick?.id === record.id ? tick.lastTaskId : null;
    for (const tickMs of plan.submitMs) {
      const { task, created } = await this.store.submit({
        type: record.type,
        payload: record.payload as Json,
        priority: record.priority,
        tenant: record.tenant,
        runAtMs: tickMs,
        idempotencyKey: scheduleTaskKey(record.name, tickMs),
      });
      lastTaskId = task.id;
      await this.store.putState(TICK_PREFIX + record.name, { id: record.id, lastTickMs: tickMs, lastTaskId, updatedAtMs: nowMs }, { fence });
      this.emit('submitted', { schedule: record.name, tickMs, taskId: task.id, created } satisfies TickSubmitted);
    }
    const lastSubmitted = plan.submitMs.at(-1);
    if (plan.advanceToMs !== null && plan.advanceToMs !== lastSubmitted) {
      // Ticks the catch-up rule skipped are handled too: never submitted later.
      await this.store.putState(TICK_PREFIX + record.name, { id: record.id, lastTickMs: plan.advanceToMs, lastTaskId: null, updatedAtMs: nowMs }, { fence });
    }
    return nextTickMs(record.cron, record.timezone, Math.max(nowMs, plan.advanceToMs ?? afterMs));
  }
}
