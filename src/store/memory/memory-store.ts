// The in-memory store: every operation runs synchronously on plain maps, so each one is
// atomic within the process. For tests, the simulator's live runs, and single-process use
// where losing the queue on exit is acceptable (capabilities: none).
//
// Task states and transitions: see src/core/types.ts. Runnable tasks sit in one heap per
// (type, tenant) ordered by priority then age; tasks whose runAt lies ahead wait in one
// delayed heap and move over when a claim finds them due. Heap entries carry the task's
// generation, so an entry left behind by a cancel or a re-queue is skipped (lazy deletion).
import {
  InvalidInputError,
  LeaseLostError,
  monotonicMs,
  SystemClock,
  yieldToEventLoop,
  QueueFullError,
  StoreUnavailableError,
  TASK_STATUSES,
  TaskConflictError,
  TaskNotFoundError,
  newToken,
  nullRecord,
} from '../../core/index.ts';
import type {
  ClaimRequest,
  ClaimedTask,
  Json,
  MetricSample,
  ScalingEvent,
  StatusCounts,
  SubmitInput,
  SubmitResult,
  Task,
  TaskCounts,
  TaskError,
  TaskFilter,
  TaskLogLine,
  TaskLogPage,
  TaskPage,
  TaskStatus,
  TimeRange,
} from '../../core/index.ts';
import type {
  FailOptions,
  MaintenancePolicy,
  MaintenanceReport,
  Store,
  StoreCapability,
  StoreEvent,
  StoreEventReach,
  StoreOptions,
  TimeOfRecord,
} from '../types.ts';
import { cancelRefusal, isLeaseExpired, onFail, onLeaseExpired, planBatch, retryDeadRefusal } from '../transitions.ts';
import { runMaintenance } from '../shared/maintenance.ts';
import { finishedOf } from '../shared/events.ts';
import { backoffMs } from '../shared/backoff.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { pickFair } from '../shared/fair.ts';
import type { FairSource } from '../shared/fair.ts';
import { Heap } from '../shared/heap.ts';
import { IndexedHeap } from '../shared/indexed-heap.ts';
import type { Positioned } from '../shared/indexed-heap.ts';
import { Listeners } from '../shared/listeners.ts';
import { resolveStoreOptions, tenantLimitOf } from '../shared/options.ts';
import type { ResolvedStoreOptions } from '../shared/options.ts';
import { CompletionRate, estimateRetryAfterMs } from '../shared/rate.ts';
import { buildTask, tenantOf, validateResult, validateClaim, validateLeaseMs, validateSubmit } from '../shared/submit.ts';
import { checkListFilter, filterRange, statusSet, zeroCounts } from '../shared/queries.ts';
import { leaseLostDetail, normalizeError } from '../shared/lease.ts';
import { BoundedTaskLog, checkAfterSeq, checkLogLines } from '../shared/task-log.ts';
import * as coord from '../shared/coordination.ts';
import type { Fence, Lease, PutStateOptions, StateEntry, StoredLease } from '../shared/coordination.ts';

interface Rec {
  task: Task;
  seq: number;
  gen: number;
  leaseToken: string | null;
}

interface Entry {
  rec: Rec;
  gen: number;
  priority: number;
  seq: number;
  tenant: string;
  runAtMs: number;
}

/** One tenant's runnable tasks of one type, best first; an item of its type's tenant order. */
interface TenantQueue extends Positioned {
  type: string;
  tenant: string;
  heap: Heap<Entry>;
  /** The (type, region) lane the queue is in. */
  lane: TypeQueue;
}

/**
 * A type's runnable tasks of one region ('' = tasks without a region): a queue per tenant,
 * and the tenants in fair claim order. A claim limited to some regions visits only their
 * lanes, so its cost does not grow with the tasks of other regions.
 */
interface TypeQueue {
  region: string;
  byTenant: Map<string, TenantQueue>;
  order: IndexedHeap<TenantQueue>;
}

/** Longest stretch of store work without letting the event loop turn, ms. */
const PACE_MS = 2;

const byPriorityThenAge = (a: Entry, b: Entry) => b.priority - a.priority || a.seq - b.seq;
const byRunAt = (a: Entry, b: Entry) => a.runAtMs - b.runAtMs || a.seq - b.seq;

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly capabilities: readonly StoreCapability[] = [];
  readonly eventReach: StoreEventReach = 'process';
  readonly timeOfRecord: TimeOfRecord = 'clock';

  private readonly options: ResolvedStoreOptions;
  private readonly listeners = new Listeners();
  private readonly completions = new CompletionRate();
  private readonly tasks = new Map<string, Rec>();
  /** Task id -> its log (bounded); removed with the task. */
  private readonly taskLogs = new Map<string, BoundedTaskLog>();
  private logSeq = 0;
  private readonly idempotency = new Map<string, Rec>();
  /** Type -> region ('' = none) -> its lane of runnable tasks. */
  private readonly ready = new Map<string, Map<string, TypeQueue>>();
  /** Every tenant queue of a tenant, across types: re-ordered when its running count changes. */
  private readonly queuesOfTenant = new Map<string, Set<TenantQueue>>();
  private readonly delayed = new Heap<Entry>(byRunAt);
  private readonly pendingByType = new Map<string, Set<Rec>>();
  private readonly running = new Map<string, Rec>();
  private readonly runningByTenant = new Map<string, number>();
  private readonly countsByType = new Map<string, StatusCounts>();
  private readonly arrivalsByType = new Map<string, number>();
  private readonly leases = new Map<string, StoredLease>();
  private readonly state = new Map<string, { text: string; updatedAtMs: number; expiresAtMs: number | null }>();
  private scalingEvents: ScalingEvent[] = [];
  private metricSamples: MetricSample[] = [];
  private seq = 0;
  private isClosed = false;
  private lastYieldMs = monotonicMs();
  private yielding: Promise<void> | null = null;

  private readonly isPaced: boolean;
  private readonly hasTenantLimits: boolean;

  constructor(options: StoreOptions = {}) {
    this.options = resolveStoreOptions(options);
    this.isPaced = this.options.clock instanceof SystemClock;
    this.hasTenantLimits = this.options.tenantConcurrency > 0 || Object.values(this.options.tenantLimits).some((n) => n > 0);
  }

  async submit(input: SubmitInput): Promise<SubmitResult> {
    return (await this.submitBatch([input]))[0];
  }

  async submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    this.checkOpen();
    await this.pace();
    if (!Array.isArray(inputs)) throw new InvalidInputError('tasks: expected an array of submits');
    const single = inputs.length === 1;
    inputs.forEach((input, i) => validateSubmit(input, single ? undefined : i));
    const nowMs = this.options.clock.now();
    // Resolve idempotency first (also within the batch), so only new tasks count toward the depth.
    const sameAsEarlier = planBatch(inputs);
    const plan = inputs.map((input, i) => {
      const sameAs = sameAsEarlier[i];
      if (input.idempotencyKey === undefined || sameAs >= 0) return { input, existing: undefined, sameAs };
      return { input, existing: this.idempotency.get(`${tenantOf(input)}\u0000${input.idempotencyKey}`), sameAs };
    });
    const newCount = plan.filter((p) => !p.existing && p.sameAs < 0).length;
    this.checkDepth(newCount, nowMs);
    const results: SubmitResult[] = [];
    const types = new Set<string>();
    for (const p of plan) {
      if (p.existing) results.push({ task: copy(p.existing.task), created: false });
      else if (p.sameAs >= 0) results.push({ task: copy(results[p.sameAs].task), created: false });
      else {
        const rec: Rec = { task: buildTask(p.input, this.options, nowMs), seq: ++this.seq, gen: 0, leaseToken: null };
        rec.task.payload = structuredClone(rec.task.payload);
        this.tasks.set(rec.task.id, rec);
        if (rec.task.idempotencyKey !== null) this.idempotency.set(`${rec.task.tenant}\u0000${rec.task.idempotencyKey}`, rec);
        this.count(rec.task.type, 'queued', +1);
        this.arrivalsByType.set(rec.task.type, (this.arrivalsByType.get(rec.task.type) ?? 0) + 1);
        this.enqueue(rec, nowMs);
        types.add(rec.task.type);
        results.push({ task: copy(rec.task), created: true });
      }
    }
    if (types.size) this.listeners.emit({ kind: 'submitted', reach: 'process', types: [...types] });
    return results;
  }

  async claim(req: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    await this.pace();
    if (!validateClaim(req)) return [];
    return this.claimNow(req, this.options.clock.now());
  }

  async heartbeat(taskId: string, leaseToken: string, leaseMs: number): Promise<{ leaseExpiresAtMs: number }> {
    this.checkOpen();
    validateLeaseMs(leaseMs);
    const rec = this.leased(taskId, leaseToken);
    const nowMs = this.options.clock.now();
    rec.task.leaseExpiresAtMs = nowMs + leaseMs;
    rec.task.updatedAtMs = nowMs;
    return { leaseExpiresAtMs: rec.task.leaseExpiresAtMs };
  }

  async complete(taskId: string, leaseToken: string, result: Json, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    await this.pace();
    validateResult(result);
    const hasNext = next ? validateClaim(next, 'next') : false;
    const rec = this.leased(taskId, leaseToken);
    const nowMs = this.options.clock.now();
    const stored = result === undefined ? null : (structuredClone(result) as Json);
    this.finish(rec, 'succeeded', nowMs);
    rec.task.result = stored;
    rec.task.error = null;
    this.afterFinish(rec, nowMs);
    return hasNext ? this.claimNow(next!, nowMs) : [];
  }

  async fail(taskId: string, leaseToken: string, error: TaskError, options: FailOptions = {}, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    await this.pace();
    const hasNext = next ? validateClaim(next, 'next') : false;
    const rec = this.leased(taskId, leaseToken);
    const nowMs = this.options.clock.now();
    const taskError = normalizeError(error);
    const outcome = onFail(rec.task, options.retryable !== false, nowMs, () => backoffMs(rec.task.attempts, this.options.retry, this.options.random));
    switch (outcome.status) {
      case 'dead':
        this.finish(rec, 'dead', nowMs);
        rec.task.error = taskError;
        this.afterFinish(rec, nowMs);
        break;
      case 'retrying':
        this.requeue(rec, 'retrying', outcome.runAtMs, nowMs);
        rec.task.error = taskError;
        break;
      default: {
        const never: never = outcome;
        throw new Error(`unhandled fail outcome ${JSON.stringify(never)}`);
      }
    }
    return hasNext ? this.claimNow(next!, nowMs) : [];
  }

  async cancel(taskId: string): Promise<Task> {
    this.checkOpen();
    const rec = this.find(taskId);
    const refusal = cancelRefusal(taskId, rec.task.status);
    if (refusal) throw refusal;
    const nowMs = this.options.clock.now();
    this.finish(rec, 'cancelled', nowMs);
    this.afterFinish(rec, nowMs);
    return copy(rec.task);
  }

  async retryDead(taskId: string): Promise<Task> {
    this.checkOpen();
    const rec = this.find(taskId);
    const refusal = retryDeadRefusal(taskId, rec.task.status);
    if (refusal) throw refusal;
    const nowMs = this.options.clock.now();
    rec.task.attempts = 0;
    rec.task.finishedAtMs = null;
    rec.task.error = null;
    this.requeue(rec, 'queued', nowMs, nowMs);
    this.listeners.emit({ kind: 'submitted', reach: 'process', types: [rec.task.type] });
    return copy(rec.task);
  }

  async get(taskId: string): Promise<Task | null> {
    this.checkOpen();
    const rec = this.tasks.get(taskId);
    return rec ? copy(rec.task) : null;
  }

  async list(filter: TaskFilter = {}): Promise<TaskPage> {
    this.checkOpen();
    const { limit, afterSeq } = checkListFilter(filter, decodeCursor);
    const statuses = statusSet(filter.status);
    const tasks: Task[] = [];
    let lastSeq = 0;
    let more = false;
    for (const rec of this.tasks.values()) {
      if (rec.seq <= afterSeq) continue;
      const t = rec.task;
      if (statuses && !statuses.has(t.status)) continue;
      if (filter.type !== undefined && t.type !== filter.type) continue;
      if (filter.tenant !== undefined && t.tenant !== filter.tenant) continue;
      if (tasks.length === limit) {
        more = true;
        break;
      }
      tasks.push(copy(t));
      lastSeq = rec.seq;
    }
    return { tasks, nextCursor: more ? encodeCursor(lastSeq) : null };
  }

  async counts(): Promise<TaskCounts> {
    this.checkOpen();
    const nowMs = this.options.clock.now();
    const byStatus = zeroCounts();
    // Null-prototype: a type named __proto__ or constructor is a key like any other.
    const byType = nullRecord<StatusCounts>();
    const runnableByType = nullRecord<number>();
    const arrivalsByType = nullRecord<number>();
    for (const [type, n] of this.arrivalsByType) arrivalsByType[type] = n;
    for (const [type, counts] of this.countsByType) {
      byType[type] = { ...counts };
      for (const s of TASK_STATUSES) byStatus[s] += counts[s];
      let runnable = 0;
      for (const rec of this.pendingByType.get(type) ?? []) if (rec.task.runAtMs <= nowMs) runnable++;
      runnableByType[type] = runnable;
    }
    return { byStatus, byType, runnableByType, arrivalsByType };
  }

  async now(): Promise<number> {
    this.checkOpen();
    return this.options.clock.now();
  }

  async maintain(policy?: MaintenancePolicy): Promise<MaintenanceReport> {
    this.checkOpen();
    return runMaintenance(
      {
        now: () => this.now(),
        reclaimExpired: () => this.reclaimExpired(),
        purgeFinished: (beforeMs) => this.purgeFinished(beforeMs),
        purgeScalingEvents: async (beforeMs) => {
          const before = this.scalingEvents.length;
          this.scalingEvents = this.scalingEvents.filter((e) => e.atMs >= beforeMs);
          return before - this.scalingEvents.length;
        },
        purgeMetricSamples: async (beforeMs) => {
          const before = this.metricSamples.length;
          this.metricSamples = this.metricSamples.filter((m) => m.atMs >= beforeMs);
          return before - this.metricSamples.length;
        },
        purgeExpiredState: async (nowMs) => {
          let n = 0;
          for (const [key, e] of this.state) if (!coord.isEntryLive(e.expiresAtMs, nowMs) && this.state.delete(key)) n++;
          return n;
        },
      },
      policy,
    );
  }

  async reclaimExpired(): Promise<number> {
    this.checkOpen();
    return this.reclaimNow(this.options.clock.now());
  }

  async purgeFinished(beforeMs: number): Promise<number> {
    this.checkOpen();
    let purged = 0;
    for (const [id, rec] of this.tasks) {
      const t = rec.task;
      if (t.finishedAtMs === null || t.finishedAtMs >= beforeMs) continue;
      if (t.status !== 'succeeded' && t.status !== 'dead' && t.status !== 'cancelled') continue;
      this.tasks.delete(id);
      this.taskLogs.delete(id);
      if (t.idempotencyKey !== null) this.idempotency.delete(`${t.tenant}\u0000${t.idempotencyKey}`);
      this.count(t.type, t.status, -1);
      purged++;
    }
    return purged;
  }

  async oldestRunnableAtMs(types: readonly string[]): Promise<number | null> {
    this.checkOpen();
    this.promoteDue(this.options.clock.now());
    let oldest: number | null = null;
    for (const type of new Set(types)) {
      let head: Entry | undefined;
      for (const tq of this.ready.get(type)?.values() ?? []) {
        for (const q of tq.byTenant.values()) {
          const before = q.heap.peek();
          const top = liveTop(q.heap);
          if (top !== before) tq.order.update(q);
          if (top && (!head || byPriorityThenAge(top, head) < 0)) head = top;
        }
      }
      if (!head) continue;
      const sinceMs = Math.max(head.rec.task.runAtMs, head.rec.task.createdAtMs);
      if (oldest === null || sinceMs < oldest) oldest = sinceMs;
    }
    return oldest;
  }

  async appendTaskLog(taskId: string, lines: readonly TaskLogLine[]): Promise<void> {
    this.checkOpen();
    const checked = checkLogLines(lines);
    if (checked.length === 0 || !this.tasks.has(taskId)) return;
    let log = this.taskLogs.get(taskId);
    if (!log) this.taskLogs.set(taskId, (log = new BoundedTaskLog()));
    log.append(checked, () => ++this.logSeq);
  }

  async readTaskLog(taskId: string, options: { afterSeq?: number } = {}): Promise<TaskLogPage> {
    this.checkOpen();
    const afterSeq = checkAfterSeq(options.afterSeq);
    if (!this.tasks.has(taskId)) throw new TaskNotFoundError(taskId);
    return this.taskLogs.get(taskId)?.read(afterSeq) ?? { lines: [], truncated: false };
  }

  // --- coordination ------------------------------------------------------------------

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder, ttlMs);
    const next = coord.nextLease(this.leases.get(name), holder, ttlMs, this.options.clock.now());
    if (!next) return null;
    this.leases.set(name, next);
    return coord.toLease(name, next);
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    this.checkOpen();
    coord.validateLeaseArgs(name, holder);
    const nowMs = this.options.clock.now();
    const current = this.leases.get(name);
    if (!current || !coord.isLive(current, nowMs) || current.holder !== holder) return false;
    this.leases.set(name, { ...current, expiresAtMs: nowMs });
    return true;
  }

  async readLease(name: string): Promise<Lease | null> {
    this.checkOpen();
    coord.validateLeaseArgs(name, 'reader');
    const current = this.leases.get(name);
    return current && coord.isLive(current, this.options.clock.now()) ? coord.toLease(name, current) : null;
  }

  async putState(key: string, value: Json, options: PutStateOptions = {}): Promise<StateEntry> {
    this.checkOpen();
    const text = coord.validatePutState(key, value, options);
    const nowMs = this.options.clock.now();
    if (options.fence) coord.checkFence(options.fence, this.leases.get(options.fence.lease), nowMs);
    const entry = { text, updatedAtMs: nowMs, expiresAtMs: options.ttlMs !== undefined ? nowMs + options.ttlMs : null };
    this.state.set(key, entry);
    this.listeners.emit({ kind: 'state', reach: this.eventReach, key });
    return { key, value: JSON.parse(text) as Json, updatedAtMs: entry.updatedAtMs, expiresAtMs: entry.expiresAtMs };
  }

  async getState(key: string): Promise<StateEntry | null> {
    this.checkOpen();
    coord.validateStateKey(key);
    const e = this.state.get(key);
    if (!e || !coord.isEntryLive(e.expiresAtMs, this.options.clock.now())) return null;
    return { key, value: JSON.parse(e.text) as Json, updatedAtMs: e.updatedAtMs, expiresAtMs: e.expiresAtMs };
  }

  async listState(prefix: string): Promise<StateEntry[]> {
    this.checkOpen();
    coord.validateStatePrefix(prefix);
    const nowMs = this.options.clock.now();
    const out: StateEntry[] = [];
    for (const [key, e] of this.state) {
      if (key.startsWith(prefix) && coord.isEntryLive(e.expiresAtMs, nowMs)) out.push({ key, value: JSON.parse(e.text) as Json, updatedAtMs: e.updatedAtMs, expiresAtMs: e.expiresAtMs });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deleteState(key: string, options: { fence?: Fence } = {}): Promise<boolean> {
    this.checkOpen();
    coord.validateStateKey(key);
    const fence = coord.validateFence(options.fence);
    const nowMs = this.options.clock.now();
    if (fence) coord.checkFence(fence, this.leases.get(fence.lease), nowMs);
    const e = this.state.get(key);
    const had = !!e && coord.isEntryLive(e.expiresAtMs, nowMs);
    this.state.delete(key);
    if (had) this.listeners.emit({ kind: 'state', reach: this.eventReach, key });
    return had;
  }

  async recordScalingEvent(event: ScalingEvent): Promise<void> {
    this.checkOpen();
    this.scalingEvents = insertByTime(this.scalingEvents, { ...event });
  }

  async listScalingEvents(range: TimeRange = {}): Promise<ScalingEvent[]> {
    this.checkOpen();
    return filterRange(this.scalingEvents, range).map((e) => ({ ...e }));
  }

  async recordMetricSample(sample: MetricSample): Promise<void> {
    this.checkOpen();
    this.metricSamples = insertByTime(this.metricSamples, { ...sample, values: { ...sample.values } });
  }

  async listMetricSamples(range: TimeRange = {}): Promise<MetricSample[]> {
    this.checkOpen();
    return filterRange(this.metricSamples, range).map((s) => ({ ...s, values: { ...s.values } }));
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.listeners.clear();
  }

  // --- internals -------------------------------------------------------------------

  private checkOpen(): void {
    if (this.isClosed) throw new StoreUnavailableError('the memory store is closed');
  }

  /**
   * Every operation here completes in microtasks, so a busy claim/complete loop would never
   * let the event loop turn (timers, sockets). Yield once every PACE_MS of such work.
   * Only on the system clock: under an injected (virtual) clock a test drives time by
   * flushing microtasks, and a real yield there would stall it.
   */
  private async pace(): Promise<void> {
    if (!this.isPaced) return;
    if (!this.yielding) {
      if (monotonicMs() - this.lastYieldMs < PACE_MS) return;
      // One shared turn: every caller that arrives meanwhile waits for the same one, so
      // the budget restarts once per turn, not once per caller.
      this.yielding = yieldToEventLoop().then(() => {
        this.lastYieldMs = monotonicMs();
        this.yielding = null;
      });
    }
    await this.yielding;
    this.checkOpen();
  }

  private find(taskId: string): Rec {
    const rec = this.tasks.get(taskId);
    if (!rec) throw new TaskNotFoundError(taskId);
    return rec;
  }

  /** The running task the token leases; LeaseLostError (saying why) otherwise. */
  private leased(taskId: string, leaseToken: string): Rec {
    const rec = this.find(taskId);
    if (rec.task.status === 'running' && rec.leaseToken === leaseToken) return rec;
    throw new LeaseLostError(taskId, leaseLostDetail(rec.task.status));
  }

  private checkDepth(newCount: number, nowMs: number): void {
    const max = this.options.maxQueueDepth;
    if (max <= 0 || newCount === 0) return;
    let depth = 0;
    for (const c of this.countsByType.values()) depth += c.queued + c.retrying;
    if (depth + newCount > max) {
      const retryAfterMs = estimateRetryAfterMs(depth + newCount - max, this.completions.perSecond(nowMs));
      throw new QueueFullError(depth, max, retryAfterMs);
    }
  }

  private count(type: string, status: TaskStatus, delta: number): void {
    let c = this.countsByType.get(type);
    if (!c) this.countsByType.set(type, (c = zeroCounts()));
    c[status] += delta;
  }

  private setStatus(rec: Rec, status: TaskStatus, nowMs: number): void {
    const t = rec.task;
    const from = t.status;
    if (from === status) return;
    this.count(t.type, from, -1);
    this.count(t.type, status, +1);
    const wasPending = from === 'queued' || from === 'retrying';
    const isPending = status === 'queued' || status === 'retrying';
    if (wasPending && !isPending) this.pendingByType.get(t.type)?.delete(rec);
    if (from === 'running') {
      this.running.delete(t.id);
      this.runningByTenant.set(t.tenant, (this.runningByTenant.get(t.tenant) ?? 1) - 1);
    }
    if (status === 'running') {
      this.running.set(t.id, rec);
      this.runningByTenant.set(t.tenant, (this.runningByTenant.get(t.tenant) ?? 0) + 1);
    }
    if (from === 'running' || status === 'running') {
      t.status = status;
      for (const q of this.queuesOfTenant.get(t.tenant) ?? []) {
        const order = q.lane.order;
        if (order.size > 1) order.update(q); // alone in its type's order, its place cannot change
      }
    }
    t.status = status;
    t.updatedAtMs = nowMs;
  }

  /** Puts a pending task where claims find it: a ready heap, or the delayed heap. */
  private enqueue(rec: Rec, nowMs: number): void {
    const t = rec.task;
    let pending = this.pendingByType.get(t.type);
    if (!pending) this.pendingByType.set(t.type, (pending = new Set()));
    pending.add(rec);
    rec.gen++;
    const entry: Entry = { rec, gen: rec.gen, priority: t.priority, seq: rec.seq, tenant: t.tenant, runAtMs: t.runAtMs };
    if (t.runAtMs <= nowMs) this.pushReady(entry);
    else this.delayed.push(entry);
  }

  /** Puts a due task in its tenant's queue and re-orders that queue among the type's tenants. */
  private pushReady(entry: Entry): void {
    const { type } = entry.rec.task;
    const region = entry.rec.task.region ?? '';
    let lanes = this.ready.get(type);
    if (!lanes) this.ready.set(type, (lanes = new Map()));
    let tq = lanes.get(region);
    if (!tq) lanes.set(region, (tq = { region, byTenant: new Map(), order: new IndexedHeap((a, b) => this.beforeInClaimOrder(a, b)) }));
    let q = tq.byTenant.get(entry.tenant);
    if (!q) {
      q = { type, tenant: entry.tenant, heap: new Heap(byPriorityThenAge), heapIndex: -1, lane: tq };
      tq.byTenant.set(entry.tenant, q);
      let set = this.queuesOfTenant.get(entry.tenant);
      if (!set) this.queuesOfTenant.set(entry.tenant, (set = new Set()));
      set.add(q);
    }
    q.heap.push(entry);
    tq.order.update(q);
  }

  private isAtCap(tenant: string): boolean {
    if (!this.hasTenantLimits) return false;
    const cap = tenantLimitOf(this.options, tenant);
    return cap > 0 && (this.runningByTenant.get(tenant) ?? 0) >= cap;
  }

  /**
   * Fair claim order between tenant queues (shared/fair.ts): a tenant at its cap last, then
   * the higher priority head, then the tenant with fewer running tasks, then the older head.
   */
  private beforeInClaimOrder(a: TenantQueue, b: TenantQueue): number {
    const blockedA = this.isAtCap(a.tenant);
    if (blockedA !== this.isAtCap(b.tenant)) return blockedA ? 1 : -1;
    const ha = a.heap.peek();
    const hb = b.heap.peek();
    if (!ha || !hb) return ha ? -1 : hb ? 1 : 0;
    return (
      hb.priority - ha.priority ||
      (this.runningByTenant.get(a.tenant) ?? 0) - (this.runningByTenant.get(b.tenant) ?? 0) ||
      ha.seq - hb.seq
    );
  }

  /** The first tenant queue of a type in claim order whose head is live; drops what a cancel or re-queue left behind. */
  private bestQueue(tq: TypeQueue): TenantQueue | undefined {
    for (;;) {
      const q = tq.order.peek();
      if (!q) return undefined;
      const head = q.heap.peek();
      const live = liveTop(q.heap);
      if (!live) {
        this.dropQueue(q);
        continue;
      }
      if (live !== head) {
        tq.order.update(q);
        continue;
      }
      return q;
    }
  }

  private requeue(rec: Rec, status: 'queued' | 'retrying', runAtMs: number, nowMs: number): void {
    this.setStatus(rec, status, nowMs);
    rec.leaseToken = null;
    rec.task.runAtMs = runAtMs;
    rec.task.workerId = null;
    rec.task.leaseExpiresAtMs = null;
    this.enqueue(rec, nowMs);
  }

  private finish(rec: Rec, status: 'succeeded' | 'dead' | 'cancelled', nowMs: number): void {
    this.setStatus(rec, status, nowMs);
    rec.leaseToken = null;
    rec.task.leaseExpiresAtMs = null;
    rec.task.finishedAtMs = nowMs;
  }

  private afterFinish(rec: Rec, nowMs: number): void {
    this.completions.record(nowMs);
    this.listeners.emit({ kind: 'finished', reach: 'process', task: finishedOf(rec.task) });
  }

  private reclaimNow(nowMs: number): number {
    let reclaimed = 0;
    const requeuedTypes = new Set<string>();
    for (const rec of [...this.running.values()]) {
      const t = rec.task;
      if (!isLeaseExpired(t.leaseExpiresAtMs, nowMs)) continue;
      reclaimed++;
      const outcome = onLeaseExpired(t, nowMs);
      if (outcome.status === 'dead') {
        this.finish(rec, 'dead', nowMs);
        t.error = outcome.error;
        this.afterFinish(rec, nowMs);
      } else {
        this.requeue(rec, 'retrying', outcome.runAtMs, nowMs);
        t.error = outcome.error;
        requeuedTypes.add(t.type);
      }
    }
    if (requeuedTypes.size) this.listeners.emit({ kind: 'submitted', reach: 'process', types: [...requeuedTypes] });
    return reclaimed;
  }

  private promoteDue(nowMs: number): void {
    for (;;) {
      const top = this.delayed.peek();
      if (!top || top.runAtMs > nowMs) return;
      this.delayed.pop();
      if (top.gen === top.rec.gen && isPending(top.rec.task.status)) this.pushReady(top);
    }
  }

  private claimNow(req: ClaimRequest, nowMs: number): ClaimedTask[] {
    this.promoteDue(nowMs);
    const picked = req.tenants ? this.pickOfTenants(req, req.tenants, nowMs) : this.pickInOrder(req, nowMs);
    return picked.map(({ rec }, i) => {
      const t = rec.task;
      rec.leaseToken = newToken();
      t.attempts++;
      t.startedAtMs = nowMs;
      t.workerId = req.workerIds?.[i] ?? req.workerId;
      t.leaseExpiresAtMs = nowMs + req.leaseMs;
      return { ...copy(t), leaseToken: rec.leaseToken };
    });
  }

  /**
   * Picks in fair order, each pick marked running at once (so the next pick sees its
   * tenant's new count): per pick, the best live queue of each type asked for, O(types +
   * log tenants), whatever the number of tenants or of tasks not yet due.
   */
  private pickInOrder(req: ClaimRequest, nowMs: number): Entry[] {
    const queues: TypeQueue[] = [];
    for (const type of req.types.length === 1 ? req.types : new Set(req.types)) {
      for (const tq of this.lanesOf(type, req.regions)) if (tq.order.size > 0) queues.push(tq);
    }
    const picked: Entry[] = [];
    while (picked.length < req.limit) {
      let best: TenantQueue | undefined;
      for (const tq of queues) {
        const q = this.bestQueue(tq);
        if (q && !this.isAtCap(q.tenant) && (!best || this.beforeInClaimOrder(q, best) < 0)) best = q;
      }
      if (!best) break;
      const entry = best.heap.pop()!;
      if (best.heap.size === 0) this.dropQueue(best);
      else best.lane.order.update(best);
      this.setStatus(entry.rec, 'running', nowMs);
      picked.push(entry);
    }
    return picked;
  }

  /** The lanes of a type a claim visits: every region's, or those without a region and of `regions`. */
  private lanesOf(type: string, regions: readonly string[] | undefined): TypeQueue[] {
    const lanes = this.ready.get(type);
    if (!lanes) return [];
    if (regions === undefined) return [...lanes.values()];
    const out: TypeQueue[] = [];
    for (const region of new Set(['', ...regions])) {
      const tq = lanes.get(region);
      if (tq) out.push(tq);
    }
    return out;
  }

  /** Removes an empty tenant queue from its lane (and the lane from its type when it empties). */
  private dropQueue(q: TenantQueue): void {
    const tq = q.lane;
    tq.order.remove(q);
    tq.byTenant.delete(q.tenant);
    this.queuesOfTenant.get(q.tenant)?.delete(q);
    if (tq.byTenant.size === 0) {
      const lanes = this.ready.get(q.type);
      if (lanes?.get(tq.region) === tq) lanes.delete(tq.region);
    }
  }

  /** A claim limited to some tenants (a remote worker's key): fair order over just their queues. */
  private pickOfTenants(req: ClaimRequest, tenants: readonly string[], nowMs: number): Entry[] {
    const sources: FairSource<Entry>[] = [];
    const touched: TenantQueue[] = [];
    for (const type of new Set(req.types)) {
      for (const tq of this.lanesOf(type, req.regions)) {
        for (const tenant of new Set(tenants)) {
          const q = tq.byTenant.get(tenant);
          if (!q) continue;
          touched.push(q);
          sources.push({ tenant, peek: () => liveTop(q.heap), take: () => q.heap.pop()! });
        }
      }
    }
    const picked = pickFair(sources, new Map(this.runningByTenant), (tenant) => tenantLimitOf(this.options, tenant), req.limit);
    for (const q of touched) {
      if (!liveTop(q.heap)) this.dropQueue(q);
      else q.lane.order.update(q);
    }
    for (const entry of picked) this.setStatus(entry.rec, 'running', nowMs);
    return picked;
  }
}

/** A heap's top that is still live; entries a cancel or re-queue left behind are dropped on the way. */
function liveTop(heap: Heap<Entry>): Entry | undefined {
  for (;;) {
    const top = heap.peek();
    if (!top) return undefined;
    if (top.gen === top.rec.gen && isPending(top.rec.task.status)) return top;
    heap.pop();
  }
}

function isPending(status: TaskStatus): boolean {
  return status === 'queued' || status === 'retrying';
}

function copy(task: Task): Task {
  return { ...task, error: task.error ? { ...task.error } : null };
}

function insertByTime<T extends { atMs: number }>(items: T[], item: T): T[] {
  if (items.length === 0 || items[items.length - 1].atMs <= item.atMs) items.push(item);
  else {
    let i = items.length;
    while (i > 0 && items[i - 1].atMs > item.atMs) i--;
    items.splice(i, 0, item);
  }
  return items;
}
