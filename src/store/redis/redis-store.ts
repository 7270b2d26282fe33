// The Redis store (`redis://host:6379/DB?prefix=NAME`, `rediss://` for TLS), on ioredis.
// Several Tidepool processes share one queue: every operation is one Lua script (lua-ops.ts)
// that runs atomically, its keys in one hash slot. The time of record is the Redis server's
// clock (TIME inside the scripts), so nodes with skewed clocks agree on leases, runAt and
// backoff; a store opened with an injected (virtual) clock uses that clock instead.
//
// Task states and transitions: see src/core/types.ts; the scripts keep counts, ready queues,
// tenant heads and the lease index in step with every transition.
//
// Events: submits, re-queues and ends are published on "{prefix}:events" inside the same
// script, so every process sharing the store hears every commit; this process's listeners
// hear its own commits directly and other processes' through the subscription.
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  FencedError,
  InvalidInputError,
  LeaseLostError,
  QueueFullError,
  StoreUnavailableError,
  SystemClock,
  TaskNotFoundError,
  TASK_LOG_MAX_BYTES,
  newTaskId,
  nullRecord,
  redactStoreUrl,
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
  StoredTaskLogLine,
  LogStream,
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
import { DatabaseClock } from '../shared/db-clock.ts';
import { checkFence, validateFence, validateLeaseArgs, validatePutState, validateStateKey, validateStatePrefix } from '../shared/coordination.ts';
import type { Fence, Lease, PutStateOptions, StateEntry } from '../shared/coordination.ts';
import { runMaintenance } from '../shared/maintenance.ts';
import { Batcher, claimShapeKey } from '../shared/batcher.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { Listeners } from '../shared/listeners.ts';
import { resolveStoreOptions } from '../shared/options.ts';
import type { ResolvedStoreOptions } from '../shared/options.ts';
import { checkListFilter, rangeLimit, statusSet, zeroCounts } from '../shared/queries.ts';
import { CompletionRate, estimateRetryAfterMs } from '../shared/rate.ts';
import { buildTask, validateResult, validateClaim, validateLeaseMs, validateSubmit } from '../shared/submit.ts';
import { normalizeError } from '../shared/lease.ts';
import { cancelRefusal, leaseLostDetail, retryDeadRefusal } from '../transitions.ts';
import { checkAfterSeq, checkLogLines, logLineBytes } from '../shared/task-log.ts';
import { clientOptions, connectInBackground, isConnectionError, runScript, translateRedisError } from './connection.ts';
import type { ScriptName } from './lua-ops.ts';
import { SUBMIT_STRIDE } from './lua-ops.ts';
import { durabilityWarning } from './durability.ts';
import { FIELDS, toClaimed, toFinished, toTask } from './rows.ts';
import type { FinishedRow, Row } from './rows.ts';
import type { RedisUrl } from '../url.ts';

const PURGE_CHUNK = 1_000;
const NO_CLAIM = ['0', '0', '', '', '0', '-1', '0'];
/** Completions grouped into one script call (a pool's workers finishing together): calls in flight at once, and items per call. */
const FINISH_BATCHES_IN_FLIGHT = 2;
const FINISH_MAX_BATCH = 500;

/** One completion waiting for its group's script call. */
interface CompleteItem {
  taskId: string;
  leaseToken: string;
  json: string;
  next: ClaimRequest | undefined;
}

type Reply = [string, ...unknown[]];

const warnedServers = new Set<string>();

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly capabilities: readonly StoreCapability[] = ['durable', 'multiProcess', 'listenNotify', 'databaseClock'];
  readonly eventReach: StoreEventReach = 'shared';
  readonly timeOfRecord: TimeOfRecord = 'database';
  /** The store URL with any password replaced by `***`. */
  readonly url: string;
  readonly prefix: string;

  private readonly target: RedisUrl;
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly options: ResolvedStoreOptions;
  private readonly listeners = new Listeners();
  private readonly completions = new CompletionRate();
  private readonly P: string;
  private readonly seqKey: string;
  private readonly common: string[];
  /** On the system clock the scripts read Redis TIME; under an injected clock, this offset clock. */
  private readonly usesServerTime: boolean;
  private readonly dbClock: DatabaseClock;
  private readonly nodeId = randomBytes(8).toString('hex');
  private readonly typesSeen = new Set<string>();
  private readonly finishes = new Batcher<CompleteItem, ClaimedTask[]>(FINISH_BATCHES_IN_FLIGHT, FINISH_MAX_BATCH, (items) => this.completeGroup(items));
  private hasWarnedDurability = false;
  private isClosed = false;

  /** Opens the store; when Redis cannot be reached yet it still opens and keeps reconnecting. */
  static async open(target: RedisUrl, options: StoreOptions = {}, shownUrl?: string): Promise<RedisStore> {
    const store = new RedisStore(target, options, shownUrl ?? redactStoreUrl(target.connectionString));
    await store.connect();
    return store;
  }

  private constructor(target: RedisUrl, options: StoreOptions, shownUrl: string) {
    this.target = target;
    this.url = shownUrl;
    this.prefix = target.prefix;
    this.options = resolveStoreOptions(options);
    this.usesServerTime = this.options.clock instanceof SystemClock;
    this.dbClock = new DatabaseClock(this.options.clock, () => this.serverTimeMs());
    this.P = `{${target.prefix}}:`;
    this.seqKey = `${this.P}seq`;
    const caps = Object.keys(this.options.tenantLimits).length ? JSON.stringify(this.options.tenantLimits) : '';
    this.common = [this.P, '', String(this.options.tenantConcurrency), caps, this.nodeId];
    this.client = new Redis(clientOptions(target, 'tidepool'));
    this.sub = new Redis(clientOptions(target, 'tidepool-sub'));
    // ioredis reports connection trouble as 'error' events; the store surfaces it on calls.
    this.client.on('error', () => {});
    this.sub.on('error', () => {});
    this.client.on('ready', () => void this.checkDurability());
    this.sub.on('message', (_channel: string, message: string) => this.onMessage(message));
    // After a reconnect, whatever was published meanwhile is lost: wake every listener once.
    let subscribedBefore = false;
    this.sub.on('ready', () => {
      // Subscribing again is harmless, and covers a store opened while Redis was down.
      void this.sub.subscribe(`${this.P}events`).catch(() => {});
      if (subscribedBefore && this.typesSeen.size) this.emitSubmitted([...this.typesSeen]);
      subscribedBefore = true;
    });
  }

  private async connect(): Promise<void> {
    const [ok] = await Promise.all([connectInBackground(this.client), connectInBackground(this.sub)]);
    if (!ok) {
      process.emitWarning(`Redis store ${this.url} is not reachable yet; calls fail with StoreUnavailable until it is (reconnecting in the background)`, {
        code: 'TidepoolStoreUnavailable',
      });
    }
    if (ok && !this.usesServerTime) await this.dbClock.sync().catch(() => {});
    // The subscription is made on the subscriber's 'ready' (also after every reconnect).
    if (this.sub.status === 'ready') await this.sub.subscribe(`${this.P}events`).catch(() => {});
  }

  private async checkDurability(): Promise<void> {
    if (this.hasWarnedDurability) return;
    const read = async (name: string) => {
      try {
        const r = (await this.client.config('GET', name)) as string[];
        return r.length >= 2 ? r[1] : null;
      } catch {
        return null;
      }
    };
    const [appendonly, appendfsync, save] = await Promise.all([read('appendonly'), read('appendfsync'), read('save')]);
    const warning = durabilityWarning({ appendonly, appendfsync, save }, this.url);
    this.hasWarnedDurability = true;
    // Once per server and database in a process, however many stores (prefixes) open on it.
    const server = `${this.target.host}:${this.target.port}/${this.target.db}`;
    if (warning && !warnedServers.has(server)) {
      warnedServers.add(server);
      process.emitWarning(warning, { code: 'TidepoolRedisDurability' });
    }
  }

  // --- submit ---------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<SubmitResult> {
    return (await this.submitBatch([input]))[0];
  }

  async submitBatch(inputs: readonly SubmitInput[]): Promise<SubmitResult[]> {
    this.checkOpen();
    if (!Array.isArray(inputs)) throw new InvalidInputError('tasks: expected an array of submits');
    const single = inputs.length === 1;
    inputs.forEach((input, i) => validateSubmit(input, single ? undefined : i));
    if (inputs.length === 0) return [];
    const idMs = this.options.clock.now();
    const ids: string[] = [];
    const payloads: string[] = [];
    const args: (string | number)[] = [this.options.maxQueueDepth, inputs.length];
    for (const input of inputs) {
      const id = newTaskId(idMs);
      const payload = JSON.stringify(input.payload === undefined ? null : input.payload);
      ids.push(id);
      payloads.push(payload);
      args.push(
        id,
        input.type,
        payload,
        input.priority ?? 0,
        input.runAtMs ?? '',
        input.delayMs ?? 0,
        input.maxAttempts ?? this.options.retry.maxAttempts,
        input.timeoutMs ?? this.options.defaultTimeoutMs,
        input.tenant ?? 'default',
        input.idempotencyKey ?? '',
        input.region ?? '',
      );
    }
    if (args.length !== 2 + SUBMIT_STRIDE * inputs.length) throw new Error('submit: argument layout out of step with the script');
    const reply = await this.run('SUBMIT', args, 'submitting tasks');
    if (reply[0] === 'full') {
      const depth = Number(reply[1]);
      const max = this.options.maxQueueDepth;
      const nowMs = this.options.clock.now();
      throw new QueueFullError(depth, max, estimateRetryAfterMs(depth + Number(reply[2]) - max, this.completions.perSecond(nowMs)));
    }
    const nowMs = Number(reply[1]);
    const results: SubmitResult[] = [];
    const types = new Set<string>();
    for (let i = 0; i < inputs.length; i++) {
      const item = reply[i + 2];
      if (item === 0) {
        const task = buildTask(inputs[i], this.options, nowMs, ids[i]);
        task.payload = JSON.parse(payloads[i]) as Json;
        types.add(task.type);
        results.push({ task, created: true });
      } else if (typeof item === 'number') {
        results.push({ task: { ...results[item - 1].task }, created: false });
      } else {
        results.push({ task: toTask(item as Row), created: false });
      }
    }
    if (types.size) {
      for (const t of types) this.typesSeen.add(t);
      this.emitSubmitted([...types]);
    }
    return results;
  }

  // --- claim, leases, outcomes ------------------------------------------------------

  async claim(req: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    if (!validateClaim(req)) return [];
    const reply = await this.run('CLAIM', this.claimArgs(req), 'claiming tasks');
    return this.afterClaim(reply, 2);
  }

  async heartbeat(taskId: string, leaseToken: string, leaseMs: number): Promise<{ leaseExpiresAtMs: number }> {
    this.checkOpen();
    validateLeaseMs(leaseMs);
    const reply = this.leased(await this.run('HEARTBEAT', [taskId, leaseToken, leaseMs], 'extending a lease'), taskId);
    return { leaseExpiresAtMs: Number(reply[1]) };
  }

  async complete(taskId: string, leaseToken: string, result: Json, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    validateResult(result);
    const hasNext = next ? validateClaim(next, 'next') : false;
    const json = JSON.stringify(result === undefined ? null : result);
    return this.finishes.push({ taskId, leaseToken, json, next: hasNext ? next : undefined });
  }

  private async completeOne(item: CompleteItem): Promise<ClaimedTask[]> {
    const args = [item.taskId, item.leaseToken, item.json, ...(item.next ? this.claimArgs(item.next) : NO_CLAIM)];
    const reply = this.leased(await this.run('COMPLETE', args, 'completing a task'), item.taskId);
    return this.afterClaim(reply, 2);
  }

  /**
   * Completes a group in one script call (COMPLETE_MANY), which also claims what the
   * group's nexts ask for (those of one claim shape; others complete on their own).
   */
  private async completeGroup(items: CompleteItem[]): Promise<(ClaimedTask[] | Error)[]> {
    const settle = (p: Promise<ClaimedTask[]>) => p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    if (items.length === 1) return [await settle(this.completeOne(items[0]!))];
    const shaped = items.find((i) => i.next)?.next;
    const shape = shaped ? claimShapeKey(shaped) : '';
    const grouped = items.filter((i) => !i.next || claimShapeKey(i.next) === shape);
    const alone = items.filter((i) => i.next && claimShapeKey(i.next) !== shape);
    const aloneOutcomes = Promise.all(alone.map((i) => settle(this.completeOne(i))));
    const args: (string | number)[] = [grouped.length];
    for (const i of grouped) args.push(i.taskId, i.leaseToken, i.json, i.next?.limit ?? 0, i.next?.workerId ?? '');
    if (shaped) {
      const types = [...new Set(shaped.types)];
      for (const t of types) this.typesSeen.add(t);
      const tenants = shaped.tenants === undefined ? [-1] : [new Set(shaped.tenants).size, ...new Set(shaped.tenants)];
      const regions = shaped.regions === undefined ? [-1] : [new Set(shaped.regions).size, ...new Set(shaped.regions)];
      args.push(shaped.leaseMs, randomUUID(), types.length, ...types, ...tenants, ...regions);
    } else args.push(0, '', 0, -1, -1);
    const reply = await this.run('COMPLETE_MANY', args, 'completing tasks');
    const claimed = this.afterClaim(reply, 2);
    const results = reply[5] as string[];
    const outcomes = new Map<CompleteItem, ClaimedTask[] | Error>();
    let at = 0;
    grouped.forEach((item, k) => {
      const r = results[k];
      if (r === 'notfound') return outcomes.set(item, new TaskNotFoundError(item.taskId));
      if (r !== 'ok') return outcomes.set(item, new LeaseLostError(item.taskId, leaseLostDetail(r as Task['status'])));
      const ask = item.next?.limit ?? 0;
      outcomes.set(item, claimed.slice(at, at + ask));
      at += ask;
    });
    (await aloneOutcomes).forEach((o, k) => outcomes.set(alone[k]!, o));
    return items.map((i) => outcomes.get(i)!);
  }

  async fail(taskId: string, leaseToken: string, error: TaskError, options: FailOptions = {}, next?: ClaimRequest): Promise<ClaimedTask[]> {
    this.checkOpen();
    const hasNext = next ? validateClaim(next, 'next') : false;
    const r = this.options.retry;
    const args = [
      taskId,
      leaseToken,
      JSON.stringify(normalizeError(error)),
      options.retryable === false ? '0' : '1',
      r.baseMs,
      r.maxMs,
      r.jitter,
      this.options.random(),
      ...(hasNext ? this.claimArgs(next!) : NO_CLAIM),
    ];
    const reply = this.leased(await this.run('FAIL', args, 'recording a failed attempt'), taskId);
    return this.afterClaim(reply, 2);
  }

  async cancel(taskId: string): Promise<Task> {
    this.checkOpen();
    const reply = await this.run('CANCEL', [taskId], 'cancelling a task');
    if (reply[0] === 'notfound') throw new TaskNotFoundError(taskId);
    if (reply[0] === 'conflict') throw cancelRefusal(taskId, reply[1] as Task['status']) ?? new Error(`cancel of ${taskId} refused in status ${String(reply[1])}`);
    const task = toTask(reply[1] as Row);
    this.emitFinished(reply[2] as FinishedRow[]);
    return task;
  }

  async retryDead(taskId: string): Promise<Task> {
    this.checkOpen();
    const reply = await this.run('RETRY_DEAD', [taskId], 'retrying a dead task');
    if (reply[0] === 'notfound') throw new TaskNotFoundError(taskId);
    if (reply[0] === 'conflict') throw retryDeadRefusal(taskId, reply[1] as Task['status']) ?? new Error(`retry of ${taskId} refused in status ${String(reply[1])}`);
    const task = toTask(reply[1] as Row);
    this.typesSeen.add(task.type);
    this.emitSubmitted([task.type]);
    return task;
  }

  // --- reads ----------------------------------------------------------------------

  async get(taskId: string): Promise<Task | null> {
    this.checkOpen();
    const row = await this.call(() => this.client.hmget(`${this.P}t:${taskId}`, ...FIELDS), 'reading a task');
    return row[0] === null ? null : toTask(row);
  }

  async list(filter: TaskFilter = {}): Promise<TaskPage> {
    this.checkOpen();
    const { limit, afterSeq } = checkListFilter(filter, decodeCursor);
    const statuses = statusSet(filter.status);
    const statusArg = statuses ? `,${[...statuses].join(',')},` : '';
    const tasks: Task[] = [];
    let last = afterSeq;
    // limit + 1 matches tell whether another page follows; each script call scans a bounded stretch.
    for (;;) {
      const reply = await this.run('LIST', [last, limit + 1 - tasks.length, statusArg, filter.type ?? '\0', filter.tenant ?? '\0'], 'listing tasks');
      for (const row of reply[2] as Row[]) tasks.push(toTask(row));
      last = Number(reply[1]);
      if (reply[0] === 'done' || tasks.length > limit) break;
    }
    if (tasks.length <= limit) return { tasks, nextCursor: null };
    tasks.length = limit;
    return { tasks, nextCursor: encodeCursor(await this.seqOf(tasks[limit - 1].id)) };
  }

  async counts(): Promise<TaskCounts> {
    this.checkOpen();
    const reply = (await this.run('COUNTS', [], 'counting tasks')) as unknown as [string, (string | null)[], number, string][];
    const byStatus = zeroCounts();
    // Null-prototype: a type named __proto__ or constructor is a key like any other.
    const byType = nullRecord<StatusCounts>();
    const runnableByType = nullRecord<number>();
    const arrivalsByType = nullRecord<number>();
    for (const [type, c, runnable, arrivals] of reply) {
      const counts: StatusCounts = {
        queued: Number(c[0] ?? 0),
        running: Number(c[1] ?? 0),
        retrying: Number(c[2] ?? 0),
        succeeded: Number(c[3] ?? 0),
        dead: Number(c[4] ?? 0),
        cancelled: Number(c[5] ?? 0),
      };
      byType[type] = counts;
      for (const s of Object.keys(counts) as (keyof StatusCounts)[]) byStatus[s] += counts[s];
      runnableByType[type] = Number(runnable);
      arrivalsByType[type] = Number(arrivals);
    }
    return { byStatus, byType, runnableByType, arrivalsByType };
  }

  async oldestRunnableAtMs(types: readonly string[]): Promise<number | null> {
    this.checkOpen();
    const unique = [...new Set(types)];
    if (unique.length === 0) return null;
    const reply = (await this.run('OLDEST', unique, 'reading the oldest runnable task')) as unknown as string | null;
    return reply === null ? null : Number(reply);
  }

  // --- maintenance ----------------------------------------------------------------

  async reclaimExpired(): Promise<number> {
    this.checkOpen();
    let total = 0;
    for (;;) {
      const reply = await this.run('RECLAIM', [], 'reclaiming expired leases');
      this.emitSubmitted(reply[2] as string[]);
      this.emitFinished(reply[3] as FinishedRow[]);
      const n = Number(reply[1]);
      total += n;
      if (n < 100) return total;
    }
  }

  async purgeFinished(beforeMs: number): Promise<number> {
    this.checkOpen();
    if (!Number.isFinite(beforeMs)) throw new InvalidInputError(`beforeMs: got ${String(beforeMs)}; expected epoch milliseconds`);
    let total = 0;
    for (;;) {
      const n = Number(await this.run('PURGE', [Math.floor(beforeMs)], 'purging finished tasks'));
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  /** The time of record: Redis TIME (one round trip), or the injected clock plus its measured offset. */
  async now(): Promise<number> {
    this.checkOpen();
    return this.usesServerTime ? this.serverTimeMs() : this.dbClock.now();
  }

  async maintain(policy?: MaintenancePolicy): Promise<MaintenanceReport> {
    this.checkOpen();
    return runMaintenance(
      {
        now: () => this.now(),
        reclaimExpired: () => this.reclaimExpired(),
        purgeFinished: (beforeMs) => this.purgeFinished(beforeMs),
        purgeScalingEvents: async (beforeMs) => Number(await this.run('PURGE_HISTORY', ['sev', Math.floor(beforeMs)], 'purging scaling events')),
        purgeMetricSamples: async (beforeMs) => Number(await this.run('PURGE_HISTORY', ['msm', Math.floor(beforeMs)], 'purging metric samples')),
        purgeExpiredState: async () => Number(await this.run('PURGE_STATE', [], 'purging lapsed state')),
      },
      policy,
    );
  }

  // --- task logs ------------------------------------------------------------------

  async appendTaskLog(taskId: string, lines: readonly TaskLogLine[]): Promise<void> {
    this.checkOpen();
    const checked = checkLogLines(lines);
    if (checked.length === 0) return;
    const args: (string | number)[] = [taskId, TASK_LOG_MAX_BYTES];
    for (const l of checked) args.push(logLineBytes(l.text), JSON.stringify([l.attempt, l.atMs, l.stream, l.text]));
    await this.run('APPEND_LOG', args, 'appending to a task log');
  }

  async readTaskLog(taskId: string, options: { afterSeq?: number } = {}): Promise<TaskLogPage> {
    this.checkOpen();
    const afterSeq = checkAfterSeq(options.afterSeq);
    const reply = await this.run('READ_LOG', [taskId], 'reading a task log');
    if (reply[0] === 'notfound') throw new TaskNotFoundError(taskId);
    const lines: StoredTaskLogLine[] = [];
    for (const entry of reply[1] as string[]) {
      const s1 = entry.indexOf(' ');
      const seq = Number(entry.slice(0, s1));
      if (seq <= afterSeq) continue;
      const [attempt, atMs, stream, text] = JSON.parse(entry.slice(entry.indexOf(' ', s1 + 1) + 1)) as [number, number, LogStream, string];
      lines.push({ seq, attempt, atMs, stream, text });
    }
    return { lines, truncated: reply[2] === '1' };
  }

  // --- history --------------------------------------------------------------------

  async recordScalingEvent(event: ScalingEvent): Promise<void> {
    this.checkOpen();
    await this.record('sev', event.atMs, event.pool, { ...event });
  }

  async listScalingEvents(range: TimeRange = {}): Promise<ScalingEvent[]> {
    this.checkOpen();
    return this.listRange<ScalingEvent>('sev', range);
  }

  async recordMetricSample(sample: MetricSample): Promise<void> {
    this.checkOpen();
    await this.record('msm', sample.atMs, sample.pool, { ...sample, values: { ...sample.values } });
  }

  async listMetricSamples(range: TimeRange = {}): Promise<MetricSample[]> {
    this.checkOpen();
    return this.listRange<MetricSample>('msm', range);
  }

  /** Deletes every key of this store's prefix (tests and benchmarks; never FLUSHDB). Returns how many. */
  async dropKeys(): Promise<number> {
    this.checkOpen();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.call(() => this.client.scan(cursor, 'MATCH', `${this.P}*`, 'COUNT', 1000), 'deleting the store keys');
      cursor = next;
      if (keys.length) deleted += await this.call(() => this.client.unlink(...keys), 'deleting the store keys');
    } while (cursor !== '0');
    return deleted;
  }

  // --- coordination (rules: ../shared/coordination.ts; scripts: lua-ops.ts) ----------

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | null> {
    this.checkOpen();
    validateLeaseArgs(name, holder, ttlMs);
    const reply = await this.run('ACQUIRE_LEASE', [name, holder, ttlMs], 'acquiring a lease');
    return reply[0] === 'ok' ? leaseOfReply(name, reply) : null;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    this.checkOpen();
    validateLeaseArgs(name, holder);
    return Number(await this.run('RELEASE_LEASE', [name, holder], 'releasing a lease')) === 1;
  }

  async readLease(name: string): Promise<Lease | null> {
    this.checkOpen();
    validateLeaseArgs(name, 'reader');
    const reply = await this.run('READ_LEASE', [name], 'reading a lease');
    return reply[0] === 'ok' ? leaseOfReply(name, reply) : null;
  }

  async putState(key: string, value: Json, options: PutStateOptions = {}): Promise<StateEntry> {
    this.checkOpen();
    const text = validatePutState(key, value, options);
    const f = options.fence;
    const reply = await this.run('PUT_STATE', [key, text, options.ttlMs ?? '', f?.lease ?? '', f?.token ?? 0], 'writing state');
    if (reply[0] === 'fenced') throwFenced(f!, reply);
    const expires = reply[2] as string;
    const entry: StateEntry = { key, value: JSON.parse(text) as Json, updatedAtMs: Number(reply[1]), expiresAtMs: expires === '' ? null : Number(expires) };
    this.listeners.emit({ kind: 'state', reach: 'shared', key });
    return entry;
  }

  async getState(key: string): Promise<StateEntry | null> {
    this.checkOpen();
    validateStateKey(key);
    return (await this.readState('-', '+', key))[0] ?? null;
  }

  async listState(prefix: string): Promise<StateEntry[]> {
    this.checkOpen();
    validateStatePrefix(prefix);
    if (prefix === '') return this.readState('-', '+', '');
    // Keys from the prefix up to its successor (last code unit + 1), as ZRANGEBYLEX bounds.
    const successor = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return (await this.readState(`[${prefix}`, `(${successor}`, '')).filter((e) => e.key.startsWith(prefix));
  }

  private async readState(min: string, max: string, single: string): Promise<StateEntry[]> {
    const reply = await this.run('LIST_STATE', [min, max, single], 'reading state');
    return (reply.slice(2) as [string, string, string, string][]).map(([key, value, updated, expires]) => ({
      key, value: JSON.parse(value) as Json, updatedAtMs: Number(updated), expiresAtMs: expires === '' ? null : Number(expires),
    }));
  }

  async deleteState(key: string, options: { fence?: Fence } = {}): Promise<boolean> {
    this.checkOpen();
    validateStateKey(key);
    const f = validateFence(options.fence);
    const reply = await this.run('DELETE_STATE', [key, f?.lease ?? '', f?.token ?? 0], 'deleting state');
    if (reply[0] === 'fenced') throwFenced(f!, reply);
    const had = Number(reply[1]) === 1;
    if (had) this.listeners.emit({ kind: 'state', reach: 'shared', key });
    return had;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.listeners.clear();
    // Completions already accepted commit before the connection goes.
    await this.finishes.drained();
    await Promise.all([quit(this.client), quit(this.sub)]);
  }

  // --- internals -------------------------------------------------------------------

  private checkOpen(): void {
    if (this.isClosed) throw new StoreUnavailableError(`Redis store ${this.url} is closed`);
  }

  private async call<T>(fn: () => Promise<T>, doing: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateRedisError(err, this.url, doing);
    }
  }

  private run(name: ScriptName, args: (string | number)[], doing: string): Promise<Reply> {
    this.common[1] = this.usesServerTime ? '' : String(this.dbClock.now());
    const argv = [...this.common, ...args];
    return this.call(() => runScript(this.client, name, this.seqKey, argv) as Promise<Reply>, doing);
  }

  private claimArgs(req: ClaimRequest): (string | number)[] {
    const types = [...new Set(req.types)];
    for (const t of types) this.typesSeen.add(t);
    const tenants = req.tenants === undefined ? [] : [...new Set(req.tenants)];
    const tenantArgs = req.tenants === undefined ? [-1] : [tenants.length, ...tenants];
    const workerIds = req.workerIds ?? [];
    const regionArgs = req.regions === undefined ? [-1] : [new Set(req.regions).size, ...new Set(req.regions)];
    return [req.limit, req.leaseMs, req.workerId, randomUUID(), types.length, ...types, ...tenantArgs, workerIds.length, ...workerIds, ...regionArgs];
  }

  /** Throws the refusal a leased-task script reported; returns the reply when it went through. */
  private leased(reply: Reply, taskId: string): Reply {
    if (reply[0] === 'notfound') throw new TaskNotFoundError(taskId);
    if (reply[0] === 'lost') throw new LeaseLostError(taskId, leaseLostDetail(reply[1] as Task['status']));
    return reply;
  }

  /** The claimed tasks of a reply `[ok, now, claimed, submittedTypes, finished]`, after its events. */
  private afterClaim(reply: Reply, at: number): ClaimedTask[] {
    const claimed = (reply[at] as Row[]).map(toClaimed);
    this.emitFinished(reply[at + 2] as FinishedRow[]);
    this.emitSubmitted(reply[at + 1] as string[]);
    return claimed;
  }

  private emitSubmitted(types: string[]): void {
    if (types.length) this.listeners.emit({ kind: 'submitted', reach: 'shared', types });
  }

  private emitFinished(rows: FinishedRow[], isOwn = true): void {
    for (const row of rows) {
      const task = toFinished(row);
      if (isOwn) this.completions.record(task.finishedAtMs);
      this.listeners.emit({ kind: 'finished', reach: 'shared', task });
    }
  }

  /** A commit published by another process sharing the store (this process's own were emitted already). */
  private onMessage(message: string): void {
    const space = message.indexOf(' ');
    if (space < 0 || this.isClosed || message.slice(0, space) === this.nodeId) return;
    let m: { s?: unknown; f?: unknown; k?: unknown };
    try {
      m = JSON.parse(message.slice(space + 1)) as typeof m;
    } catch {
      return;
    }
    const types = Array.isArray(m.s) ? (m.s as string[]) : [];
    for (const t of types) this.typesSeen.add(t);
    this.emitSubmitted(types);
    if (Array.isArray(m.f)) this.emitFinished(m.f as FinishedRow[], false);
    if (typeof m.k === 'string') this.listeners.emit({ kind: 'state', reach: 'shared', key: m.k });
  }

  private async serverTimeMs(): Promise<number> {
    const [seconds, micros] = await this.call(() => this.client.time(), 'reading the server time');
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  private async seqOf(taskId: string): Promise<number> {
    return Number(await this.call(() => this.client.hget(`${this.P}t:${taskId}`, 'sq'), 'listing tasks'));
  }

  private async record(kind: 'sev' | 'msm', atMs: number, pool: string, item: object): Promise<void> {
    const member = randomBytes(8).toString('hex') + JSON.stringify(item);
    await this.run('RECORD_HISTORY', [kind, atMs, pool, member], 'recording history');
  }

  private async listRange<T>(kind: 'sev' | 'msm', range: TimeRange): Promise<T[]> {
    const limit = rangeLimit(range);
    const key = range.pool === undefined ? `${this.P}${kind}` : `${this.P}${kind}:${range.pool}`;
    const max = range.toMs === undefined ? '+inf' : String(range.toMs);
    const min = range.fromMs === undefined ? '-inf' : String(range.fromMs);
    const members = await this.call(() => this.client.zrevrangebyscore(key, max, min, 'LIMIT', 0, limit), 'listing history');
    return members.reverse().map((m) => JSON.parse(m.slice(16)) as T);
  }
}

/** A lease from a script's reply `['ok', holder, token, acquiredAt, expiresAt]`. */
function leaseOfReply(name: string, reply: Reply): Lease {
  return { name, holder: String(reply[1]), token: Number(reply[2]), acquiredAtMs: Number(reply[3]), expiresAtMs: Number(reply[4]) };
}

/** Words a script's `['fenced', holder, token, acquiredAt, expiresAt, now]` refusal as checkFence does. */
function throwFenced(fence: Fence, reply: Reply): never {
  const [, holder, token, acquiredAt, expiresAt, now] = reply as unknown as [string, string, string, string, string, string];
  const stored = Number(token) > 0 ? { holder, token: Number(token), acquiredAtMs: Number(acquiredAt), expiresAtMs: Number(expiresAt) } : null;
  checkFence(fence, stored, Number(now));
  throw new FencedError(fence.lease, fence.token, 'refused by the store'); // checkFence always throws here
}

async function quit(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    client.disconnect();
  }
}
