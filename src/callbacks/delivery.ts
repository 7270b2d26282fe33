// The delivery loop of completion callbacks. Every node runs one; only the holder of the
// `callbacks` lease delivers, so several nodes on one store do not all post. The holder
// reacts to `finished` and `state` store events and, every sweepIntervalMs (and at start),
// renews its lease and sweeps every pending record, which covers whatever no event told
// it: a server killed between a task's end and its delivery, events of other processes on
// a store whose events stay in-process, a record written after its task already ended.
//
// A record's life (records.ts): pending (attempts 0, waits for its task to end)
//   -> posted -> 2xx: delivered (tombstone, record deleted)
//             -> retryable failure, attempts left: pending again, nextAttemptAtMs = now + backoff
//             -> otherwise: failed (tombstone, event `callback_failed` in the event log, record deleted)
// Record writes are fenced with the lease's token: a paused holder whose lease passed to
// another node cannot overwrite its successor's records. Delivery is at least once: a
// node killed after the receiver's 2xx and before the delete posts again after restart.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { FencedError, toTaskJson } from '../core/index.ts';
import type { Clock, Json, Task, TimerHandle } from '../core/index.ts';
import type { Fence, Lease, Store, StoreEvent } from '../store/index.ts';
import { backoffMs, postSigned, redactWebhookUrl } from '../webhooks/index.ts';
import type { AttemptOutcome } from '../webhooks/index.ts';
import type { CallbackGuard } from './guard.ts';
import { PENDING_PREFIX, asRecord, doneKey, pendingKey } from './records.ts';
import type { CallbackRecord, DoneRecord } from './records.ts';

/** The lease whose holder delivers. */
export const CALLBACKS_LEASE = 'callbacks';
/** Posts in flight at once, at most; the rest wait their turn. */
const MAX_IN_FLIGHT = 16;

export interface CallbackSettings {
  secret: string;
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  sweepIntervalMs: number;
  /** Tombstones lapse after this long, ms; 0 = kept until deleted. */
  doneRetentionMs: number;
}

export interface CallbackDeliveryOptions extends CallbackSettings {
  store: Store;
  clock: Clock;
  guard: CallbackGuard;
  /** This node's name on the lease (default host:pid:random). */
  holder?: string;
  /** The pool a task type runs in, for the event log (default: the type). */
  poolOf?: (type: string) => string;
  log?: (line: string) => void;
  /** Each attempt's outcome (tests, metrics). */
  onAttempt?: (taskId: string, attempt: number, outcome: AttemptOutcome) => void;
}

const FINAL = new Set(['succeeded', 'dead', 'cancelled']);

export class CallbackDelivery {
  readonly holder: string;
  private readonly o: CallbackDeliveryOptions;
  private lease: Lease | null = null;
  private stopped = false;
  private tickTimer: TimerHandle | null = null;
  private readonly retryTimers = new Map<string, TimerHandle>();
  /** Tasks being looked at or posted; each at most once at a time. */
  private readonly busy = new Set<string>();
  /** Busy tasks to look at once more when their look ends. */
  private readonly again = new Set<string>();
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | null = null;
  private ticking: Promise<void> | null = null;

  constructor(o: CallbackDeliveryOptions) {
    this.o = o;
    this.holder = o.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** Whether this node holds the lease (as of its last renewal). */
  get isDelivering(): boolean {
    return this.lease !== null && !this.stopped;
  }

  start(): void {
    this.unsubscribe = this.o.store.subscribe((e) => this.onEvent(e));
    this.ticking = this.tick();
  }

  /** One renewal and sweep (the loop runs it every sweepIntervalMs; tests may await it). */
  async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      this.lease = await this.o.store.acquireLease(CALLBACKS_LEASE, this.holder, this.leaseTtlMs());
    } catch (err) {
      this.lease = null;
      this.o.log?.(`callbacks: could not renew the ${CALLBACKS_LEASE} lease: ${(err as Error).message}`);
      return;
    }
    if (!this.lease) return;
    let entries;
    try {
      entries = await this.o.store.listState(PENDING_PREFIX);
    } catch (err) {
      this.o.log?.(`callbacks: could not list the pending callbacks: ${(err as Error).message}`);
      return;
    }
    for (const e of entries) this.enqueue(e.key.slice(PENDING_PREFIX.length));
  }

  /** Resolves once nothing is being looked at or posted (tests await it after a sweep or an event). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.waiting.length > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops: no new attempts, posts in flight get up to graceMs, then the lease is released. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.tickTimer?.cancel();
    for (const t of this.retryTimers.values()) t.cancel();
    this.retryTimers.clear();
    await this.ticking?.catch(() => undefined);
    const all = Promise.allSettled([...this.running]);
    let timer: TimerHandle | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = this.o.clock.setTimer(r, graceMs)))]);
    timer?.cancel();
    this.abort.abort();
    await all;
    if (this.lease) await this.o.store.releaseLease(CALLBACKS_LEASE, this.holder).catch(() => undefined);
    this.lease = null;
  }

  private leaseTtlMs(): number {
    return this.o.sweepIntervalMs * 3;
  }

  private async tick(): Promise<void> {
    await this.sweep();
    if (!this.stopped) this.tickTimer = this.o.clock.setTimer(() => void (this.ticking = this.tick()), this.o.sweepIntervalMs);
  }

  private onEvent(e: StoreEvent): void {
    if (!this.isDelivering) return;
    if (e.kind === 'finished') this.enqueue(e.task.id);
    else if (e.kind === 'state' && e.key.startsWith(PENDING_PREFIX)) this.enqueue(e.key.slice(PENDING_PREFIX.length));
  }

  private enqueue(taskId: string): void {
    if (this.stopped || this.waitingSet.has(taskId)) return;
    // Being looked at: news about it (its end, its record) may have come too late for that look; look again after.
    if (this.busy.has(taskId)) {
      this.again.add(taskId);
      return;
    }
    this.waiting.push(taskId);
    this.waitingSet.add(taskId);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length > 0 && !this.stopped) {
      const taskId = this.waiting.shift()!;
      this.waitingSet.delete(taskId);
      if (this.busy.has(taskId)) continue;
      this.busy.add(taskId);
      this.inFlight++;
      const p = this.consider(taskId)
        .catch((err: Error) => this.o.log?.(`callbacks: task ${taskId}: ${err.message}`))
        .finally(() => {
          this.busy.delete(taskId);
          this.inFlight--;
          this.running.delete(p);
          if (this.again.delete(taskId)) this.enqueue(taskId);
          this.pump();
        });
      this.running.add(p);
    }
  }

  /** Looks at one pending record: posts when its task has ended and its time has come. */
  private async consider(taskId: string): Promise<void> {
    if (!this.lease) return;
    const entry = await this.o.store.getState(pendingKey(taskId));
    const record = entry && asRecord(entry.value);
    if (!record) return;
    const now = this.o.clock.now();
    if (record.nextAttemptAtMs > now) return this.armRetry(taskId, record.nextAttemptAtMs - now);
    const task = await this.o.store.get(taskId);
    if (!task) {
      // Purged before its callback went out (retention shorter than the retries, or an old record).
      this.o.log?.(`callbacks: task ${taskId}: the task no longer exists; its callback to ${redactWebhookUrl(record.url)} is dropped`);
      return this.finish(taskId, record, 'failed', { ok: false, error: 'the task no longer exists', isRetryable: false }, record.attempts);
    }
    if (!FINAL.has(task.status)) return;
    await this.attempt(taskId, record, task);
  }

  private async attempt(taskId: string, record: CallbackRecord, task: Task): Promise<void> {
    const lease = this.lease;
    if (!lease || this.stopped) return;
    const attempt = record.attempts + 1;
    const literal = this.o.guard.literalProblem(record.url);
    const outcome: AttemptOutcome = literal
      ? { ok: false, error: `refused: ${literal}`, isRetryable: false }
      : await postSigned({ url: record.url, secret: this.o.secret }, JSON.stringify(toTaskJson(task)), {
          atMs: this.o.clock.now(),
          timeoutMs: this.o.timeoutMs,
          lookup: this.o.guard.lookup,
          signal: this.abort.signal,
        });
    if (this.abort.signal.aborted) return; // stopping: the record stays for the next holder
    this.o.onAttempt?.(taskId, attempt, outcome);
    if (outcome.ok) return this.finish(taskId, record, 'delivered', outcome, attempt);
    if (!outcome.isRetryable || attempt >= this.o.maxAttempts) {
      const why = outcome.status !== undefined ? `HTTP ${outcome.status}` : (outcome.error ?? 'no answer');
      const reason = `task ${taskId}: callback to ${redactWebhookUrl(record.url)} failed after ${attempt} attempt${attempt === 1 ? '' : 's'} (${why})`;
      this.o.log?.(`callbacks: ${reason}`);
      await this.o.store
        .recordScalingEvent({ atMs: this.o.clock.now(), pool: this.o.poolOf?.(task.type) ?? task.type, from: 0, to: 0, action: 'none', code: 'callback_failed', reason, policy: 'callbacks' })
        .catch((err: Error) => this.o.log?.(`callbacks: could not record the event: ${err.message}`));
      return this.finish(taskId, record, 'failed', outcome, attempt);
    }
    const waitMs = backoffMs(attempt, this.o.baseBackoffMs, this.o.maxBackoffMs);
    const next: CallbackRecord = { ...record, attempts: attempt, nextAttemptAtMs: this.o.clock.now() + waitMs, ...lastOf(outcome) };
    if (!(await this.fenced(() => this.o.store.putState(pendingKey(taskId), next as unknown as Json, { fence: fenceOf(lease) })))) return;
    this.armRetry(taskId, waitMs);
  }

  private async finish(taskId: string, record: CallbackRecord, outcome: DoneRecord['outcome'], last: AttemptOutcome, attempts: number): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    const done: DoneRecord = { url: record.url, outcome, attempts, atMs: this.o.clock.now(), ...lastOf(last) };
    // The tombstone first: killed in between, the record stays and the callback goes again (at least once).
    await this.o.store.putState(doneKey(taskId), done as unknown as Json, this.o.doneRetentionMs > 0 ? { ttlMs: Math.min(this.o.doneRetentionMs, 86_400_000) } : {});
    await this.fenced(() => this.o.store.deleteState(pendingKey(taskId), { fence: fenceOf(lease) }));
  }

  /** Runs a fenced write; false (and no longer delivering) when the lease has passed on. */
  private async fenced(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.lease = null;
      this.o.log?.(`callbacks: ${err.message}; another node delivers now`);
      return false;
    }
  }

  private armRetry(taskId: string, ms: number): void {
    if (this.stopped) return;
    this.retryTimers.get(taskId)?.cancel();
    this.retryTimers.set(
      taskId,
      this.o.clock.setTimer(() => {
        this.retryTimers.delete(taskId);
        this.enqueue(taskId);
      }, ms),
    );
  }
}

function fenceOf(lease: Lease): Fence {
  return { lease: lease.name, token: lease.token };
}

function lastOf(o: AttemptOutcome): { lastStatus?: number; lastError?: string } {
  return { ...(o.status !== undefined ? { lastStatus: o.status } : {}), ...(o.error !== undefined ? { lastError: o.error.slice(0, 500) } : {}) };
}
