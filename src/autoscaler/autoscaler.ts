// The control loop. Every intervalMs, per pool: observe (pool stats + store counts) ->
// decide (the pool's pure policy) -> clamp (the shared bounds/step clamp) -> apply
// (pool.scaleTo) -> log (a ScalingEvent in the store when the target changes). The last
// decision is kept in memory even when it is `none`; a metric sample goes to the store
// every sampleEveryTicks ticks.
//
// Pool status (active, scaling_up, scaling_down): the pool's own while workers start or
// drain; otherwise the direction of a change applied in the latest tick.
//
// Errors caught in a tick are emitted as `error` and counted (errors()), never swallowed.
import { EventEmitter } from 'node:events';
import {
  InvalidInputError,
  TidepoolError,
  systemClock,
  type Clock,
  type PoolStatus,
  type ScalingEvent,
  type TaskCounts,
  type TimerHandle,
} from '../core/index.ts';
import type { Decision, Observation, ScaleAction } from '../policies/index.ts';
import type { Pool } from '../pools/index.ts';
import type { Store } from '../store/index.ts';
import { observe, runnableDepth } from './observe.ts';
import { bindPolicy, clampDecision, policyIntervalMs, type BoundPolicy, type PolicyChoice } from './policy-binding.ts';

export interface AutoscaledPool {
  pool: Pool;
  policy: PolicyChoice;
  /**
   * The bounds the policy's decision is clamped to; default the pool's own. In a cluster
   * they bound the pool's total over every node, while each node's pool runs 0..its cap.
   */
  minWorkers?: number;
  maxWorkers?: number;
  /** With seams: the most workers of the pool this process runs (maxWorkersPerNode); default no cap beyond maxWorkers. */
  nodeCap?: number;
  /** This pool's tick; default: the policy's evaluationIntervalMs if it has one, else the autoscaler's intervalMs. */
  intervalMs?: number;
}

/**
 * Where the loop's observation comes from and where its decision goes. Without seams the
 * loop observes its own pool and resizes it; a cluster (src/cluster/seams.ts) plugs in here:
 * only the leader decides, on the pool's total over every node, and gives each node a share.
 */
export interface ScalingSeams {
  /** Whether this process decides now (the cluster's leader). */
  decides(): boolean;
  /** Identifies the current term of office (a new one loads the policy state again). */
  token(): number | null;
  /** What a process that does not decide reports as its decision's reason. */
  followerReason(pool: string, localTarget: number): string;
  /** The observation the policy sees, from this process's own. */
  observe(pool: Pool, local: Observation): Promise<Observation>;
  /** The total the decision moves from. */
  currentTotal(pool: Pool): number;
  /** Applies a decided total (every tick: shares move when nodes come and go). */
  apply(pool: Pool, total: number, reason: string, bounds: { minWorkers: number; maxWorkers: number }): Promise<void>;
  /** The policy state the previous term left (undefined: none). */
  loadState(pool: string): Promise<unknown | undefined>;
  saveState(pool: string, state: unknown): Promise<void>;
}

export interface AutoscalerOptions {
  /** Where observations come from and decisions go (a cluster); default: this process's pools. */
  seams?: ScalingSeams;
  store: Store;
  pools: readonly AutoscaledPool[];
  clock?: Clock;
  /** Default tick, ms (default 1000). */
  intervalMs?: number;
  /** Record a metric sample per pool every this many ticks (default 5; 0 = never). */
  sampleEveryTicks?: number;
  /** false: observe and record samples only, never resize (autoscaler.enabled = false). */
  applyDecisions?: boolean;
}

/** The last decision of one pool, after the clamp. */
export interface LastDecision {
  atMs: number;
  action: ScaleAction;
  from: number;
  to: number;
  code: string;
  reason: string;
  policy: string;
  /** The policy's own target before the clamp. */
  desired: number;
  observation: Observation;
}

export interface PoolControl {
  name: string;
  policy: string;
  preset: string | null;
  /** The resolved policy config (knobs and bounds). */
  policyConfig: Record<string, unknown>;
  intervalMs: number;
  status: PoolStatus;
  lastDecision: LastDecision | null;
  scaleUps: number;
  scaleDowns: number;
}

interface Entry {
  pool: Pool;
  minWorkers: number;
  maxWorkers: number;
  nodeCap: number;
  policy: BoundPolicy;
  intervalMs: number;
  explicitIntervalMs: number | undefined;
  timer: TimerHandle | null;
  ticks: number;
  last: LastDecision | null;
  lastChange: { atMs: number; action: ScaleAction } | null;
  scaleUps: number;
  scaleDowns: number;
  ticking: Promise<void> | null;
  /** A runtime change came while a tick ran: the next tick follows at once. */
  isTickDue: boolean;
  /** The term of office whose policy state this entry holds (seams). */
  term: number | null;
}

const EMPTY_COUNTS = { byStatus: { queued: 0, running: 0, retrying: 0, succeeded: 0, dead: 0, cancelled: 0 }, byType: {}, runnableByType: {}, arrivalsByType: {} } as unknown as TaskCounts;

export class Autoscaler extends EventEmitter {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private readonly sampleEveryTicks: number;
  private readonly applyDecisions: boolean;
  private isRunning = false;
  private errorCount = 0;
  private readonly defaultIntervalMs: number;
  private readonly seams: ScalingSeams | null;

  constructor(options: AutoscalerOptions) {
    super();
    this.seams = options.seams ?? null;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.sampleEveryTicks = options.sampleEveryTicks ?? 5;
    this.applyDecisions = options.applyDecisions ?? true;
    const defaultIntervalMs = options.intervalMs ?? 1000;
    this.defaultIntervalMs = defaultIntervalMs;
    for (const p of options.pools) {
      const minWorkers = p.minWorkers ?? p.pool.minWorkers;
      const maxWorkers = p.maxWorkers ?? p.pool.maxWorkers;
      const policy = bindPolicy(p.policy, minWorkers, maxWorkers);
      const intervalMs = p.intervalMs ?? policyIntervalMs(policy) ?? defaultIntervalMs;
      if (!Number.isInteger(intervalMs) || intervalMs < 1)
        throw new InvalidInputError(`autoscaler: intervalMs of pool ${JSON.stringify(p.pool.name)} got ${intervalMs}; expected an integer >= 1`);
      this.entries.set(p.pool.name, {
        pool: p.pool,
        minWorkers,
        maxWorkers,
        nodeCap: p.nodeCap ?? Infinity,
        policy,
        intervalMs,
        explicitIntervalMs: p.intervalMs,
        timer: null,
        ticks: 0,
        last: null,
        lastChange: null,
        scaleUps: 0,
        scaleDowns: 0,
        ticking: null,
        isTickDue: false,
        term: null,
      });
    }
    // Without a listener, EventEmitter would throw `error`; it is counted either way.
    this.on('error', () => undefined);
  }

  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    // In a cluster a node's pools start empty until the leader decides: decide at once.
    for (const e of this.entries.values()) this.arm(e, this.seams ? 0 : e.intervalMs);
  }

  /** Stops the loop and waits for a tick in progress. */
  async stop(): Promise<void> {
    this.isRunning = false;
    for (const e of this.entries.values()) {
      e.timer?.cancel();
      e.timer = null;
    }
    await Promise.all([...this.entries.values()].map((e) => e.ticking));
  }

  /** Errors caught in the loop so far. */
  errors(): number {
    return this.errorCount;
  }

  poolNames(): string[] {
    return [...this.entries.keys()];
  }

  control(poolName: string): PoolControl {
    const e = this.entry(poolName);
    return {
      name: poolName,
      policy: e.policy.name,
      preset: e.policy.preset,
      policyConfig: { ...e.policy.config },
      intervalMs: e.intervalMs,
      status: this.statusOf(e),
      lastDecision: e.last,
      scaleUps: e.scaleUps,
      scaleDowns: e.scaleDowns,
    };
  }

  /** The bounds the pool's decisions are clamped to (in a cluster: its total's). */
  bounds(poolName: string): { minWorkers: number; maxWorkers: number } {
    const e = this.entry(poolName);
    return { minWorkers: e.minWorkers, maxWorkers: e.maxWorkers };
  }

  lastDecision(poolName: string): LastDecision | null {
    return this.entry(poolName).last;
  }

  /** Replaces a pool's policy at runtime (its state starts afresh); logs a `policy_changed` event. */
  async setPolicy(poolName: string, choice: PolicyChoice): Promise<void> {
    const e = this.entry(poolName);
    const before = e.policy.label;
    e.policy = bindPolicy(choice, e.minWorkers, e.maxWorkers);
    e.intervalMs = e.explicitIntervalMs ?? policyIntervalMs(e.policy) ?? this.defaultIntervalMs;
    const n = e.pool.target;
    await this.log(e, { action: 'none', from: n, to: n, code: 'policy_changed', reason: `policy ${before} replaced by ${e.policy.label}` });
    this.tickNow(e);
  }

  /** Changes a pool's bounds at runtime and moves its target inside them at once. */
  async setBounds(poolName: string, minWorkers: number, maxWorkers: number): Promise<void> {
    const e = this.entry(poolName);
    // Everything that can refuse runs before anything changes: a refused change leaves the pool as it was.
    const policy = bindPolicy(e.policy.choice, minWorkers, maxWorkers);
    // In a cluster the bounds are the total's; each node's pool keeps its own 0..cap.
    if (!this.seams) e.pool.setBounds(minWorkers, maxWorkers);
    else e.pool.setBounds(0, Math.min(maxWorkers, e.nodeCap));
    e.minWorkers = minWorkers;
    e.maxWorkers = maxWorkers;
    e.policy = policy;
    const from = this.seams ? this.seams.currentTotal(e.pool) : e.pool.target;
    const to = Math.min(maxWorkers, Math.max(minWorkers, from));
    if (to !== from) await this.applyTotal(e, to, `bounds set to [${minWorkers}, ${maxWorkers}]`);
    await this.log(e, {
      action: to > from ? 'scale_up' : to < from ? 'scale_down' : 'none',
      from,
      to,
      code: 'bounds_changed',
      reason: `bounds set to [${minWorkers}, ${maxWorkers}]${to !== from ? `; ${from} workers moved to ${to}` : ''}`,
    });
    if (to !== from) this.noteChange(e, from, to);
    this.tickNow(e);
  }

  /** Sets a pool's count by hand (within its bounds); the policy may move it again on its next tick. */
  async scaleByHand(poolName: string, count: number): Promise<void> {
    const e = this.entry(poolName);
    const from = this.seams ? this.seams.currentTotal(e.pool) : e.pool.target;
    await this.applyTotal(e, count, `set by hand to ${count} workers`);
    if (count === from) return;
    await this.log(e, { action: count > from ? 'scale_up' : 'scale_down', from, to: count, code: 'manual', reason: `set by hand from ${from} to ${count} workers` });
    this.noteChange(e, from, count);
  }

  /**
   * Logs something that happened to a pool's workers (a crash, a respawn, a stall, a
   * recycle) in the scaling event log beside the decisions: action `none`, the code and
   * the sentence given. Errors are emitted and counted like a tick's.
   */
  async recordPoolEvent(poolName: string, code: string, reason: string): Promise<void> {
    const e = this.entry(poolName);
    const n = e.pool.target;
    try {
      await this.log(e, { action: 'none', from: n, to: n, code, reason });
    } catch (err) {
      this.errorCount++;
      const error = err instanceof Error ? err : new Error(String(err));
      this.emit('error', new TidepoolError('StoreUnavailable', `logging ${code} of pool ${JSON.stringify(poolName)}: ${error.message}`, { cause: error }));
    }
  }

  /** Resizes the pool (alone) or the pool's total over the cluster (seams). */
  private async applyTotal(e: Entry, to: number, reason: string): Promise<void> {
    if (this.seams) {
      if (this.seams.decides()) await this.seams.apply(e.pool, to, reason, { minWorkers: e.minWorkers, maxWorkers: e.maxWorkers });
    } else e.pool.scaleTo(to);
  }

  /** Runs one tick for one pool now (tests and the CLI use it; the loop calls it on its timer). */
  async tick(poolName: string): Promise<LastDecision> {
    const e = this.entry(poolName);
    const seams = this.seams;
    if (seams && !seams.decides()) return this.follow(e);
    if (seams && e.term !== seams.token()) {
      // A new term of office: continue from the state the previous leader left.
      const saved = await seams.loadState(poolName);
      if (saved !== undefined) e.policy.state = saved;
      e.term = seams.token();
    }
    const stats = e.pool.stats();
    const counts = await this.store.counts();
    const oldestRunnableAtMs = await this.store.oldestRunnableAtMs(stats.types);
    const nowMs = this.clock.now();
    e.pool.noteQueueDepth(runnableDepth(counts, stats.types));
    const facts = e.pool.facts();
    const localObservation = observe({
      stats,
      counts,
      runMeanMs: facts.runMeanMs,
      windowMs: facts.windowMs,
      // How long the task a worker of this pool would take next has waited (0 when none).
      oldestWaitMs: oldestRunnableAtMs === null ? 0 : Math.max(0, nowMs - oldestRunnableAtMs),
      intervalMs: e.intervalMs,
    });
    const observation = seams ? await seams.observe(e.pool, localObservation) : localObservation;
    const decision: Decision<unknown> = e.policy.definition.decide(observation, e.policy.config, e.policy.state, nowMs);
    e.policy.state = decision.state;
    if (seams) await seams.saveState(poolName, decision.state);
    const from = seams ? seams.currentTotal(e.pool) : e.pool.target;
    // The pool's bounds are the last word (fixed:N carries its own, which may lie outside them).
    const clamped = clampDecision(decision, { minWorkers: e.minWorkers, maxWorkers: e.maxWorkers }, from);
    const to = clamped.target;
    const action: ScaleAction = to > from ? 'scale_up' : to < from ? 'scale_down' : 'none';
    const last: LastDecision = {
      atMs: nowMs,
      action,
      from,
      to,
      code: clamped.code,
      reason: clamped.reason,
      policy: e.policy.label,
      desired: decision.target,
      observation,
    };
    e.last = last;
    e.ticks++;
    // In a cluster the shares are applied every tick (nodes come and go), the total only moves on a change.
    // With decisions off (autoscaler.enabled false) the total stays where it is, within the bounds:
    // the nodes' pools start empty, so the leader still gives them the minimum (or a count set by hand).
    if (seams) {
      const total = this.applyDecisions ? to : Math.min(e.maxWorkers, Math.max(e.minWorkers, from));
      await seams.apply(e.pool, total, this.applyDecisions ? clamped.reason : 'autoscaler.enabled is false: the pool stays at its count within its bounds', { minWorkers: e.minWorkers, maxWorkers: e.maxWorkers });
    }
    if (action !== 'none' && this.applyDecisions) {
      if (!seams) e.pool.scaleTo(to);
      this.noteChange(e, from, to);
      await this.log(e, { action, from, to, code: clamped.code, reason: clamped.reason });
      this.emit('pool.resized', { pool: e.pool.name, from, to, action, code: clamped.code, reason: clamped.reason, atMs: nowMs });
    }
    this.emit('decision', { pool: e.pool.name, ...last });
    if (this.sampleEveryTicks > 0 && e.ticks % this.sampleEveryTicks === 0) await this.sample(e, observation, nowMs);
    return last;
  }

  /** A tick on a process that does not decide: it reports the leader's decision, and its share. */
  private follow(e: Entry): LastDecision {
    const n = e.pool.target;
    const stats = e.pool.stats();
    const last: LastDecision = {
      atMs: this.clock.now(),
      action: 'none',
      from: n,
      to: n,
      code: 'follower',
      reason: this.seams!.followerReason(e.pool.name, n),
      policy: e.policy.label,
      desired: n,
      observation: observe({ stats, counts: EMPTY_COUNTS, runMeanMs: e.pool.facts().runMeanMs, windowMs: e.pool.facts().windowMs, oldestWaitMs: 0, intervalMs: e.intervalMs }),
    };
    e.last = last;
    e.term = null;
    return last;
  }

  private async sample(e: Entry, obs: Observation, atMs: number): Promise<void> {
    const s = e.pool.stats();
    await this.store.recordMetricSample({
      atMs,
      pool: e.pool.name,
      values: {
        queueDepth: obs.queueDepth,
        total: s.total,
        starting: s.starting,
        idle: s.idle,
        busy: s.busy,
        draining: s.draining,
        target: s.target,
        utilization: s.utilization,
        p50WaitMs: s.waitMs.p50,
        p95WaitMs: s.waitMs.p95,
        p99WaitMs: s.waitMs.p99,
        p50RunMs: s.runMs.p50,
        p95RunMs: s.runMs.p95,
        throughputPerMin: s.throughputPerMin,
        successRate: s.successRate,
        completed: s.completed,
        failed: s.failed,
        stalls: s.stalls,
      },
    });
  }

  private noteChange(e: Entry, from: number, to: number): void {
    if (to > from) e.scaleUps++;
    else if (to < from) e.scaleDowns++;
    e.lastChange = { atMs: this.clock.now(), action: to > from ? 'scale_up' : 'scale_down' };
  }

  private async log(e: Entry, ev: Pick<ScalingEvent, 'action' | 'from' | 'to' | 'code' | 'reason'>): Promise<void> {
    await this.store.recordScalingEvent({ atMs: this.clock.now(), pool: e.pool.name, policy: e.policy.label, ...ev });
  }

  private statusOf(e: Entry): PoolStatus {
    const own = e.pool.stats().status;
    if (own !== 'active') return own;
    if (e.lastChange && this.clock.now() - e.lastChange.atMs < e.intervalMs)
      return e.lastChange.action === 'scale_up' ? 'scaling_up' : 'scaling_down';
    return 'active';
  }

  /**
   * After a runtime policy, preset or bounds change: evaluate at once instead of at the old
   * policy's next tick, then tick on the new interval.
   */
  private tickNow(e: Entry): void {
    if (!this.isRunning) return;
    if (e.ticking) {
      e.isTickDue = true; // the running tick re-arms when it ends
      return;
    }
    e.timer?.cancel();
    this.arm(e, 0);
  }

  private arm(e: Entry, delayMs = e.intervalMs): void {
    if (!this.isRunning) return;
    if (e.isTickDue) {
      e.isTickDue = false;
      delayMs = 0;
    }
    e.timer = this.clock.setTimer(() => {
      e.timer = null;
      e.ticking = this.tick(e.pool.name)
        .then(
          () => undefined,
          (err: unknown) => {
            this.errorCount++;
            const error = err instanceof Error ? err : new Error(String(err));
            this.emit('error', new TidepoolError('StoreUnavailable', `autoscaler tick for pool ${JSON.stringify(e.pool.name)}: ${error.message}`, { cause: error }));
          },
        )
        .finally(() => {
          e.ticking = null;
          this.arm(e);
        });
    }, delayMs);
  }

  private entry(poolName: string): Entry {
    const e = this.entries.get(poolName);
    if (!e) throw new TidepoolError('PoolNotFound', `pool ${JSON.stringify(poolName)} not found; known pools: ${[...this.entries.keys()].join(', ') || '(none)'}`);
    return e;
  }
}
